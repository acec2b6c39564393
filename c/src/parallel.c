/*
 * parallel.c -- one kernel call on several threads, with results that do not
 * depend on how many.
 *
 * Why it looks like this
 * ----------------------
 * - Split: contiguous ranges of whole CBCE_SUM_BLOCK blocks, a few per
 *   thread (task_count). Reductions already sum block by block into an
 *   exact superaccumulator, so a task summing its blocks into its own
 *   accumulator and the exact merge afterwards give the same bits as one
 *   thread. Elementwise outputs are independent per element.
 * - Errors: the BCE range check reports the offending element with the
 *   smallest logical index. Tasks are in logical order and each reports its
 *   own first bad element, so the first failing task's status is the
 *   single-threaded one. A task stops early once an EARLIER task has failed
 *   (its own findings can no longer matter); earlier tasks keep going.
 * - Small inputs stay on the calling thread: a helper thread is only worth
 *   its hand-over for enough work: cbce__min_per_thread elements of the
 *   cheapest kernel, fewer of slower ones; and only worth waking from sleep
 *   for much more (wake_helpers), unless calls come back to back.
 * - Helpers are kept between calls (threads.c): one that still spins after
 *   its last call takes work within ~1 us. Participants (the caller and the
 *   helpers, started as a tree, see run_participant) take tasks from a
 *   shared counter, and the caller takes back offers no helper has taken
 *   when it runs out of tasks: a helper that wakes late (a sleeping thread
 *   on a VM: 20-160 us) costs the call a few microseconds, not its
 *   wake-up, and takes a task, not half of the call.
 * - Interrupts: only the calling thread runs the caller's hook (a Python
 *   signal check must run there), every INTERRUPT_EVERY elements it
 *   processes (counted across its tasks; at block boundaries inside a task);
 *   a nonzero answer raises a shared flag that every task polls per block.
 */
#include <stdlib.h>

#include "internal.h"
#include "threads.h"

/* A helper that still spins takes an offered task ~0.2 us after the offer
 * (0.4 us to its join); one asleep on its condition variable 20-160 us
 * after it (the median of a run was either ~20 us or ~130-160 us, whether
 * the calling core was busy or idle), which the caller does not wait for
 * (run_participant); creating and joining a thread takes ~16 us
 * (c/bench/bench_handoff.c on a 2-vCPU x86-64 VM, glibc:
 * benchmarks/results/2026-12-07-xeon-c-handoff.txt). With c per element
 * and m elements per thread, one thread takes 2*m*c and two take m*c plus
 * the call's cost of threading (the hand-over, its task list and the merge
 * of the sums), so a helper gets m*c of at least ~5 us:
 * cbce__min_per_thread = 5000 elements of the cheapest kernel (the float32
 * BCE loss, ~1.0 ns), proportionally fewer of slower kernels
 * (kernel_cost_ns()), the same work per thread.
 * Measured at 10^4 elements, 1 thread -> 2: back-to-back calls
 * (benchmarks/results/2026-12-07-xeon-avx512.txt) float32 BCE mean 9.8 ->
 * 8.2 us, float64 BCE-with-logits value_and_grad 63.2 -> 42.0 us; with a
 * 1 ms pause before each call, helpers asleep (benchmarks/threads.py
 * --pause 1e-3, results/2026-12-07-xeon-threads-1e4.txt, soft labels) the
 * caller's wake-up calls cost 2.7-4.1 us: float32 BCE mean 21.3 -> 25.4
 * us, float64 BCE value_and_grad 81.9 -> 85.0 us; which is why such calls
 * now wake no sleeping helper unless calls come back to back
 * (wake_helpers). */
#if defined(_WIN32)
/* Windows creates a thread per start (threads.c), ~20-60 us that a call
 * must wait for: a thread needs ~85 us of work there. */
ptrdiff_t cbce__min_per_thread = 85000;
#else
ptrdiff_t cbce__min_per_thread = 5000;
#endif
#define MIN_PER_THREAD_COST_NS 1.0
/* Estimated single-thread work (ns) of a call that may wake sleeping
 * helpers (wake_helpers): a wake-up costs the caller ~3 us, at most 3% of
 * such a call even when the helper arrives too late to help. */
long cbce__wake_min_ns = 100000;

/* Rough single-thread ns per element of each kernel at the AVX-512 level
 * (c/bench/bench_kernels, n = 10^6, contiguous, inputs in the plain ranges
 * of kernels.inc.h; other levels and other inputs are slower,
 * which only makes a split pay off sooner). A gradient costs about what the
 * fused loss and gradient costs; the range check alone is counted as the
 * cheapest kernel (so the threshold is never above cbce__min_per_thread,
 * which the thread tests lower to one block). */
static double kernel_cost_ns(const cbce__call *call, int f64)
{
    int grad = (call->what & CBCE__DO_GRAD) != 0;
    if (!(call->what & (CBCE__DO_LOSS | CBCE__DO_GRAD))) return MIN_PER_THREAD_COST_NS;
    if (call->kind == CBCE__KIND_BCE) return f64 ? (grad ? 5.4 : 2.0) : (grad ? 1.3 : 1.0);
    return f64 ? (grad ? 8.0 : 4.8) : (grad ? 2.2 : 1.8);
}

/* Upper bound on threads of one call. */
#define MAX_THREADS 256
/* The split into tasks (task_count): at most this many per thread, each at
 * least this much estimated single-thread work (ns). */
int cbce__tasks_per_thread = 4;
double cbce__min_task_ns = 50000.0;
/* The calling thread consults the interrupt hook this often (elements it
 * processes, across its tasks; a whole number of blocks, and so are all
 * tasks but the last, so the count meets every multiple inside a task). */
#define INTERRUPT_EVERY ((ptrdiff_t)1 << 18)

/* Not a public status: a task gave up because an earlier one failed. */
#define MOOT (-1)

typedef struct participant {
    cbce__job *job;
    int index; /* 0: the calling thread */
} participant;

struct cbce__job {
    const cbce__layout *lay;
    const cbce__call *call;
    cbce__kernel_fn fn;
    cbce__task *tasks;
    participant *parts;    /* parts[p] for p < nparts */
    cbce__thread *threads; /* threads[p] runs parts[p] (p >= 1) */
    int nparts;            /* threads of the call, the caller included */
    int ntasks;
    int wake; /* may wake sleeping helpers or create threads (wake_helpers) */
    int next; /* counter: the next task to take */
    int stop; /* flag: the hook asked to stop */
    /* the calling thread's own: elements of the tasks it finished, and
     * the count at which it next consults the hook (caller_hook) */
    ptrdiff_t caller_done, caller_next_hook;
};

/* On the calling thread, with `processed` of its elements done: consults
 * the interrupt hook once that count reached the next multiple of
 * INTERRUPT_EVERY. Nonzero (and the stop flag raised) when it asks to stop. */
static int caller_hook(cbce__job *job, ptrdiff_t processed)
{
    if (cbce__flag_get(&job->stop)) return 1; /* asked already: never again */
    if (!job->call->interrupt || processed < job->caller_next_hook) return 0;
    job->caller_next_hook = processed - processed % INTERRUPT_EVERY + INTERRUPT_EVERY;
    if (job->call->interrupt(job->call->interrupt_ctx) == 0) return 0;
    cbce__flag_set(&job->stop, 1);
    return 1;
}

int cbce__task_poll(cbce__task *task, ptrdiff_t done)
{
    cbce__job *job = task->job;
    int j;
    if (cbce__flag_get(&job->stop)) return CBCE_INTERRUPTED;
    if (task->on_caller && caller_hook(job, job->caller_done + (done - task->begin)))
        return CBCE_INTERRUPTED;
    for (j = 0; j < task->index; j++) {
        if (cbce__flag_get(&job->tasks[j].failed)) return MOOT;
    }
    return CBCE_OK;
}

/* One participant of a call: first offers participants 2p+1 and 2p+2 to
 * helper threads (a tree: the last of nt starts after about 2*log2(nt)
 * start-ups instead of nt), then takes tasks until none is left, then takes
 * back the offers no helper has taken yet and waits for the others. Who runs
 * which task never changes a result; a helper that wakes late (or cannot be
 * started) leaves its tasks to the participants already running, so a slow
 * wake-up costs the call no more than running alone. */
static void run_participant(void *arg)
{
    participant *part = (participant *)arg;
    cbce__job *job = part->job;
    int c, k, child[2];
    unsigned char started[2] = {0, 0};
    child[0] = 2 * part->index + 1;
    child[1] = 2 * part->index + 2;
    for (c = 0; c < 2; c++) {
        if (child[c] < job->nparts)
            started[c] = cbce__thread_start(&job->threads[child[c]], run_participant,
                                            &job->parts[child[c]], job->wake) == 0;
    }
    if (part->index == 0 && !started[0] && !started[1]) {
        /* Alone (no helper was awake or none could start): the whole range
         * as one task saves the set-up and merge of the others and gives
         * the same sums and the same first error. */
        job->tasks[0].end = job->tasks[job->ntasks - 1].end;
        job->ntasks = 1;
    }
    /* After a stop, tasks not yet taken stay undone (the call returns
     * CBCE_INTERRUPTED); between its tasks the calling thread consults the
     * hook as well (a task polls only at its inner block boundaries). */
    while (!cbce__flag_get(&job->stop) && (k = cbce__counter_next(&job->next)) < job->ntasks) {
        cbce__task *task = &job->tasks[k];
        task->on_caller = part->index == 0;
        task->status = job->fn(job->lay, job->call, task);
        if (task->status == CBCE_INPUT_OUT_OF_RANGE || task->status == CBCE_TARGET_OUT_OF_RANGE)
            cbce__flag_set(&task->failed, 1);
        if (task->on_caller) {
            job->caller_done += task->end - task->begin;
            if (cbce__flag_get(&job->next) < job->ntasks && caller_hook(job, job->caller_done))
                break;
        }
    }
    for (c = 0; c < 2; c++) {
        if (started[c] && !cbce__thread_cancel(&job->threads[child[c]]))
            cbce__thread_join(&job->threads[child[c]]);
    }
}

/* How many threads this call uses: the request, capped so that each thread
 * gets at least one block and the elements worth a thread for this kernel
 * (cbce__min_per_thread scaled from the cheapest kernel to this one). */
static int thread_count(const cbce__layout *lay, const cbce__call *call, int f64,
                        ptrdiff_t nblocks)
{
    double min_elems = (double)cbce__min_per_thread * (MIN_PER_THREAD_COST_NS /
                                                       kernel_cost_ns(call, f64));
    ptrdiff_t cap = (ptrdiff_t)((double)lay->size / (min_elems > 1.0 ? min_elems : 1.0));
    ptrdiff_t nt = call->num_threads;
    if (nt > MAX_THREADS) nt = MAX_THREADS;
    if (nt > cap) nt = cap;
    if (nt > nblocks) nt = nblocks;
    return nt < 1 ? 1 : (int)nt;
}

/* Whether this call, of work_ns estimated single-thread work, may wake
 * sleeping helpers (and create threads): when work_ns is at least
 * cbce__wake_min_ns, or when the last threaded call ended so recently that
 * calls come back to back (a loop of small calls: its second call wakes the
 * helpers, which then stay awake while the calls keep coming). Otherwise the
 * call takes only helpers that are awake, and runs alone when none is: after
 * a pause, waking a helper costs the caller a few microseconds and the
 * helper 20-160 us to arrive (see above), longer than such a call (with a
 * 1 ms pause before each call, 5906bbd's library, which always woke them,
 * took 2 threads 0.71-0.98x the time of one for float32 BCE at 10^4 to
 * 3*10^4 elements, and 0.98-1.01x at 10^5:
 * benchmarks/results/2026-12-07-xeon-c-threads-a8c0115.txt). */
static int wake_helpers(double work_ns)
{
    if (cbce__wake_min_ns < 0) return 0; /* tests: never */
    return work_ns >= (double)cbce__wake_min_ns || cbce__thread_recent();
}

/* Tasks of a call of work_ns on nt threads: nt times k, k up to
 * cbce__tasks_per_thread with each task at least cbce__min_task_ns of the
 * estimated work (and one block). Several per thread, so that a helper that
 * starts late takes a small share, not a whole thread's, and the call waits
 * at most for that share; a multiple of nt, so that threads that start
 * together also end together (5 tasks on 2 threads take 3/5 of the time,
 * not 1/2); and no more, as each costs the kernel's set-up and a merge of
 * its sums. */
static int task_count(double work_ns, ptrdiff_t nblocks, int nt)
{
    ptrdiff_t k, ntasks;
    double per_thread = work_ns / (double)nt / (cbce__min_task_ns > 1.0 ? cbce__min_task_ns : 1.0);
    if (nt == 1) return 1;
    k = per_thread < (double)cbce__tasks_per_thread ? (ptrdiff_t)per_thread
                                                     : (ptrdiff_t)cbce__tasks_per_thread;
    if (k < 1) k = 1;
    ntasks = (ptrdiff_t)nt * k;
    return (int)(ntasks < nblocks ? ntasks : nblocks);
}

static void task_init(cbce__task *task, cbce__job *job, ptrdiff_t nblocks, int index, int ntasks)
{
    /* Blocks [index*nb/nt, (index+1)*nb/nt) of nt tasks; the products stay
     * far below PTRDIFF_MAX (nb < 2^51 for any addressable array, and
     * nt <= MAX_THREADS * cbce__tasks_per_thread = 1024 unless a test
     * raises the latter on a small input). */
    ptrdiff_t b0 = nblocks * index / ntasks, b1 = nblocks * (index + 1) / ntasks;
    task->begin = b0 * CBCE_SUM_BLOCK;
    task->end = b1 * CBCE_SUM_BLOCK < job->lay->size ? b1 * CBCE_SUM_BLOCK : job->lay->size;
    task->on_caller = 0;
    task->status = CBCE_OK;
    task->failed = 0;
    task->index = index;
    task->job = job;
    cbce__acc_init(&task->acc);
}

int cbce__run_parallel(const cbce__layout *lay, const cbce__call *call, cbce__kernel_fn fn,
                       int f64)
{
    cbce__job job;
    cbce__task one, *tasks = &one;
    participant caller, *parts = &caller;
    cbce__thread *threads = NULL; /* unused when nt == 1 */
    void *mem = NULL;
    /* the call's blocks, and its estimated single-thread work */
    const ptrdiff_t nblocks = (lay->size + CBCE_SUM_BLOCK - 1) / CBCE_SUM_BLOCK;
    const double work_ns = (double)lay->size * kernel_cost_ns(call, f64);
    int nt = thread_count(lay, call, f64, nblocks), ntasks = task_count(work_ns, nblocks, nt), k;
    int status = CBCE_OK;

    job.lay = lay;
    job.call = call;
    job.fn = fn;
    job.stop = 0;
    if (nt > 1) {
        /* Threaded calls allocate their task list; without memory the call
         * simply runs on this thread (same results). */
        mem = malloc((size_t)ntasks * sizeof(cbce__task) +
                     (size_t)nt * (sizeof(cbce__thread) + sizeof(participant)));
        if (mem) {
            tasks = (cbce__task *)mem;
            threads = (cbce__thread *)(void *)(tasks + ntasks);
            parts = (participant *)(void *)(threads + nt);
        } else {
            nt = ntasks = 1;
        }
    }
    job.tasks = tasks;
    job.parts = parts;
    job.threads = threads;
    job.nparts = nt;
    job.ntasks = ntasks;
    job.wake = nt > 1 && wake_helpers(work_ns);
    job.next = 0;
    job.caller_done = 0;
    job.caller_next_hook = INTERRUPT_EVERY;
    for (k = 0; k < ntasks; k++) task_init(&tasks[k], &job, nblocks, k, ntasks);
    for (k = 0; k < nt; k++) {
        parts[k].job = &job;
        parts[k].index = k;
    }
    run_participant(&parts[0]); /* and, through the tree, the helpers */
    ntasks = job.ntasks; /* 1 if the caller ran alone */

    /* The first task (in logical order) that did not succeed decides; an
     * interruption anywhere makes the whole call interrupted. */
    if (cbce__flag_get(&job.stop)) status = CBCE_INTERRUPTED;
    for (k = 0; k < ntasks && status == CBCE_OK; k++) {
        if (tasks[k].status != CBCE_OK) status = tasks[k].status;
    }
    if (status == CBCE_OK && (call->what & CBCE__DO_LOSS) &&
        call->reduction != CBCE_REDUCTION_NONE) {
        double r;
        for (k = 1; k < ntasks; k++) cbce__acc_merge(&tasks[0].acc, &tasks[k].acc);
        r = call->reduction == CBCE_REDUCTION_MEAN ? cbce__acc_mean(&tasks[0].acc, lay->size)
                                                   : cbce__acc_round(&tasks[0].acc);
        *call->total = f64 ? r : (double)(float)r;
    }
    free(mem);
    if (nt > 1) cbce__thread_note_call();
    /* MOOT never survives: a moot task follows a failed one. */
    return status;
}
