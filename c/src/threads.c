/*
 * threads.c -- start and join threads: Win32 under _WIN32, POSIX elsewhere.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getcpu, sched_setaffinity: cbce__thread_move_off_cpu */
#endif
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L /* clock_gettime under -std=c99 */
#endif
#include "threads.h"

#if defined(_WIN32)

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

static DWORD WINAPI trampoline(LPVOID p)
{
    cbce__thread *t = (cbce__thread *)p;
    t->fn(t->arg);
    return 0;
}

int cbce__thread_start(cbce__thread *t, cbce__thread_fn fn, void *arg, int wake)
{
    HANDLE h;
    (void)wake; /* no kept helpers: every start creates a thread */
    t->fn = fn;
    t->arg = arg;
    /* 0: the executable's default stack size (1 MiB unless linked otherwise),
     * far more than the kernels' ~30 KiB of buffers. */
    h = CreateThread(NULL, 0, trampoline, t, 0, NULL);
    if (h == NULL) return 1;
    t->handle = (void *)h;
    return 0;
}

int cbce__max_helpers = 0;

int cbce__thread_helpers(void)
{
    return 0;
}

int cbce__thread_cancel(cbce__thread *t)
{
    (void)t;
    return 0;
}

void cbce__thread_note_call(void)
{
}

int cbce__thread_recent(void)
{
    return 0;
}

/* Windows creates a thread per start, which the OS places itself. */
int cbce__thread_current_cpu(void)
{
    return -1;
}

int cbce__thread_move_off_cpu(int cpu)
{
    (void)cpu;
    return 0;
}

void cbce__thread_join(cbce__thread *t)
{
    WaitForSingleObject((HANDLE)t->handle, INFINITE);
    CloseHandle((HANDLE)t->handle);
}

#else

/* Helper threads are kept and reused (POSIX only): a helper that still
 * spins after its last task runs an offered function ~0.2 us after the
 * offer, against ~16 us to create and join a thread (c/bench/bench_handoff.c,
 * 2-vCPU x86-64 VM, glibc: benchmarks/results/2026-12-07-xeon-c-handoff.txt).
 * A helper spins for SPIN_NS after each call it served, so back-to-back
 * calls find it awake, then sleeps on its condition variable; on that VM a
 * sleeping helper runs 20-160 us after the offer (medians of single runs),
 * whether the calling core was busy or idle: so a start is only an offer
 * that cbce__thread_cancel takes back if the helper has not taken it, and
 * parallel.c lets whoever runs take the tasks.
 * While the other side of a call is still at work (a helper waiting to be
 * joined, a joiner waiting for the helper's end) the wait spins on, up to
 * HOLD_NS: the two finish up to one task apart (parallel.c's tasks are
 * 50 us or more), and a side that fell asleep in that gap had to be woken,
 * by the join or by the next call. Measured (2-vCPU EPYC VM, 800
 * back-to-back float64 calls of 10^6 elements on 2 threads): with the
 * SPIN_NS limit alone, the helper slept before 18-31% of the calls and the
 * caller while joining in 15-72%; with the hold, before at most 1 in 800
 * (benchmarks/results/2026-12-07-epyc-c-threads-hold.txt).
 * A helper that finds itself on its starter's CPU moves off it before it
 * starts (Linux: cbce__thread_move_off_cpu). Both would only take turns
 * there, and the OS does not always spread them: in fresh Python
 * processes, where NumPy's OpenBLAS thread still spun on the other core,
 * it left the helper on the caller's core for whole runs of 60 calls (4
 * runs of 6, 3*10^5 float32 elements: 415-471 us per call on 2 threads
 * against 290-364 on one; moved: never there, 218-353 us;
 * benchmarks/results/2026-12-07-epyc-threads-placement.txt).
 * Calls from many threads at
 * once each claim idle helpers; when all kept helpers are busy and no more
 * may be kept, a call creates a thread of its own, as when no helper can be
 * started. After fork() the child forgets the parent's helpers (they do not
 * exist there) and starts its own. */

#include <sched.h>
#include <time.h>

/* The kernels keep ~30 KiB of chunk buffers on the stack; musl's default
 * thread stack is 128 KiB and sanitizers inflate frames, so ask for at least
 * this much. */
#define MIN_STACK ((size_t)512 * 1024)

/* How long a helper spins for its next task, and a joiner for a helper's
 * end, before blocking: about the thread start-up it saves, a fraction of any
 * threaded call's work (parallel.c's threshold). */
#define SPIN_NS 100000L
/* How long a wait spins at most while the other side of the call is still
 * at work (await_state's `hold`). Past it the call is long (a task of it
 * lasts more than HOLD_NS, and parallel.c gives each thread several), so
 * a wake-up (at most ~160 us above) is a few percent of it. Spinning that
 * long yields the core to other runnable threads after each check
 * (sched_yield), so that an oversubscribed machine runs them instead, the
 * thread being waited for included. */
#define HOLD_NS 2000000L
/* Helpers kept at most: one call's worth at parallel.c's MAX_THREADS. */
#define MAX_HELPERS 256

#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __asm__ __volatile__("pause" ::: "memory")
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield" ::: "memory")
#else
#define CPU_RELAX() ((void)0)
#endif

/* Helper states: IDLE -> CLAIMED (a starter, by compare-and-swap) -> RUN
 * (fn and arg are set: offered) -> BUSY (the helper took it, by
 * compare-and-swap) -> DONE (fn returned) -> IDLE (joined). A starter may
 * take back an offer the helper has not taken: RUN -> IDLE. */
enum { IDLE, CLAIMED, RUN, BUSY, DONE };

struct cbce__helper {
    int state;           /* atomic */
    int starter_cpu;     /* the CPU its starter ran on at the offer, or -1 */
    int helper_sleeps;   /* atomic: the helper waits on `wake` */
    int joiner_sleeps;   /* atomic: the joiner waits on `done` */
    cbce__thread_fn fn;
    void *arg;
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
};

static struct cbce__helper helpers[MAX_HELPERS];
int cbce__max_helpers = MAX_HELPERS;
static int nhelpers; /* atomic: slots [0, nhelpers) hold a live helper */
static pthread_mutex_t grow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static int swap_if(int *p, int expected, int desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}

static int load(const int *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static void store(int *p, int v)
{
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Waits until h->state == want: spins up to SPIN_NS after the state last
 * was `hold` (the other side of the call still at work), for at most
 * HOLD_NS in all while it is, then blocks on `cv` with *sleeps raised.
 * Whoever sets the state sets it first and then reads *sleeps (both
 * sequentially consistent), so either this thread sees the new value
 * before blocking or the setter sees *sleeps and signals under the mutex. */
static void await_state(struct cbce__helper *h, int want, int hold, int *sleeps,
                        pthread_cond_t *cv)
{
    long long deadline = 0, hold_end = 0, t;
    unsigned spins = 0;
    int s;
    while ((s = load(&h->state)) != want) {
        CPU_RELAX();
        if (++spins % 64 != 0) continue;
        t = now_ns();
        if (hold_end == 0) hold_end = t + HOLD_NS;
        if (s == hold && t <= hold_end) {
            deadline = t + SPIN_NS;
            sched_yield();
        } else if (deadline == 0) {
            deadline = t + SPIN_NS;
        } else if (t > deadline) {
            pthread_mutex_lock(&h->mu);
            store(sleeps, 1);
            while (load(&h->state) != want) pthread_cond_wait(cv, &h->mu);
            store(sleeps, 0);
            pthread_mutex_unlock(&h->mu);
            return;
        }
    }
}

static void set_state(struct cbce__helper *h, int v, int *sleeps, pthread_cond_t *cv)
{
    store(&h->state, v);
    if (load(sleeps)) {
        pthread_mutex_lock(&h->mu);
        pthread_cond_signal(cv);
        pthread_mutex_unlock(&h->mu);
    }
}

int cbce__thread_current_cpu(void)
{
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

int cbce__thread_move_off_cpu(int cpu)
{
#if defined(__linux__)
    cpu_set_t all, others;
    if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof all, &all) != 0) return 0;
    others = all;
    CPU_CLR(cpu, &others);
    if (CPU_COUNT(&others) == 0 || sched_setaffinity(0, sizeof others, &others) != 0) return 0;
    sched_setaffinity(0, sizeof all, &all);
    return 1;
#else
    (void)cpu;
    return 0;
#endif
}

static void *helper_main(void *p)
{
    struct cbce__helper *h = (struct cbce__helper *)p;
    for (;;) {
        await_state(h, RUN, DONE, &h->helper_sleeps, &h->wake);
        if (!swap_if(&h->state, RUN, BUSY)) continue; /* taken back */
        /* Sharing its starter's CPU, a helper would only take turns with
         * it (see the top of this file): it moves to another one first. */
        if (h->starter_cpu >= 0 && cbce__thread_current_cpu() == h->starter_cpu)
            cbce__thread_move_off_cpu(h->starter_cpu);
        h->fn(h->arg);
        set_state(h, DONE, &h->joiner_sleeps, &h->done);
    }
    return NULL;
}

static void *trampoline(void *p)
{
    cbce__thread *t = (cbce__thread *)p;
    t->fn(t->arg);
    return NULL;
}

/* Starts fn(arg) with a stack of at least MIN_STACK; a detached thread
 * (a kept helper) is never joined. */
static int create_thread(pthread_t *id, void *(*fn)(void *), void *arg, int detached)
{
    pthread_attr_t attr;
    size_t stack = 0;
    int err;
    if (pthread_attr_init(&attr) != 0) return 1;
    if (pthread_attr_getstacksize(&attr, &stack) != 0 || stack < MIN_STACK)
        pthread_attr_setstacksize(&attr, MIN_STACK);
    if (detached) pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(id, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return err != 0;
}

/* In a forked child only the forking thread exists: no helper survives. */
static void forget_helpers(void)
{
    pthread_mutex_init(&grow_mu, NULL);
    store(&nhelpers, 0);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_helpers);
}

/* A helper in state CLAIMED for the caller: an idle one, else a new one;
 * NULL when all slots are busy or a thread cannot be created. Without
 * `wake`, only an idle helper that is not asleep (it may fall asleep right
 * after this look: then it is woken all the same), and never a new one. */
static struct cbce__helper *claim_helper(int wake)
{
    struct cbce__helper *h = NULL;
    int k, n = load(&nhelpers);
    for (k = 0; k < n; k++) {
        if (!wake && load(&helpers[k].helper_sleeps)) continue;
        if (swap_if(&helpers[k].state, IDLE, CLAIMED)) return &helpers[k];
    }
    if (!wake) return NULL;
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&grow_mu);
    n = load(&nhelpers);
    if (n < MAX_HELPERS && n < cbce__max_helpers) {
        pthread_t id;
        h = &helpers[n];
        h->state = CLAIMED;
        h->helper_sleeps = 0;
        h->joiner_sleeps = 0;
        if (pthread_mutex_init(&h->mu, NULL) != 0) {
            h = NULL;
        } else if (pthread_cond_init(&h->wake, NULL) != 0) {
            pthread_mutex_destroy(&h->mu);
            h = NULL;
        } else if (pthread_cond_init(&h->done, NULL) != 0) {
            pthread_cond_destroy(&h->wake);
            pthread_mutex_destroy(&h->mu);
            h = NULL;
        } else if (create_thread(&id, helper_main, h, 1) != 0) {
            pthread_cond_destroy(&h->done);
            pthread_cond_destroy(&h->wake);
            pthread_mutex_destroy(&h->mu);
            h = NULL;
        } else {
            store(&nhelpers, n + 1);
        }
    }
    pthread_mutex_unlock(&grow_mu);
    return h;
}

int cbce__thread_start(cbce__thread *t, cbce__thread_fn fn, void *arg, int wake)
{
    struct cbce__helper *h = claim_helper(wake);
    t->fn = fn;
    t->arg = arg;
    t->helper = h;
    if (h) {
        h->fn = fn;
        h->arg = arg;
        h->starter_cpu = cbce__thread_current_cpu();
        set_state(h, RUN, &h->helper_sleeps, &h->wake);
        return 0;
    }
    if (!wake) return 1;
    return create_thread(&t->id, trampoline, t, 0);
}

/* End of the last threaded call, in microseconds modulo 2^32 (int-sized,
 * lock-free on every target, unlike a 64-bit atomic on 32-bit ones; the
 * difference below is taken modulo 2^32 as well, so the wrap every ~72
 * minutes at worst makes one call look recent). */
static unsigned last_call_us;

static unsigned now_us(void)
{
    return (unsigned)(now_ns() / 1000);
}

void cbce__thread_note_call(void)
{
    __atomic_store_n(&last_call_us, now_us(), __ATOMIC_RELAXED);
}

int cbce__thread_recent(void)
{
    unsigned last = __atomic_load_n(&last_call_us, __ATOMIC_RELAXED);
    return now_us() - last < (unsigned)(SPIN_NS / 1000);
}

int cbce__thread_helpers(void)
{
    return load(&nhelpers);
}

int cbce__thread_cancel(cbce__thread *t)
{
    return t->helper != NULL && swap_if(&t->helper->state, RUN, IDLE);
}

void cbce__thread_join(cbce__thread *t)
{
    struct cbce__helper *h = t->helper;
    if (!h) {
        pthread_join(t->id, NULL);
        return;
    }
    await_state(h, DONE, BUSY, &h->joiner_sleeps, &h->done);
    store(&h->state, IDLE);
}

#endif
