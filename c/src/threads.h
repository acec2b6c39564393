/*
 * threads.h -- the smallest portable thread layer cbce needs: start a thread,
 * wait for it, and relaxed atomic flags that threads poll to stop early.
 *
 * POSIX threads everywhere except Windows, where Win32 threads are used
 * (CreateThread/WaitForSingleObject), so neither the library nor the Python
 * wheels need a threading runtime (OpenMP) that users may lack. Under POSIX
 * a "start" hands the function to a kept helper thread, which spins briefly
 * after each task and then sleeps (threads.c says why); under Windows each
 * start creates a thread.
 */
#ifndef CBCE_THREADS_H
#define CBCE_THREADS_H

#if !defined(_WIN32)
#include <pthread.h>
#endif

typedef void (*cbce__thread_fn)(void *arg);

typedef struct cbce__thread {
#if defined(_WIN32)
    void *handle; /* HANDLE; windows.h stays out of the headers */
#else
    pthread_t id;                 /* a thread of its own, when helper is NULL */
    struct cbce__helper *helper;  /* a reused helper thread (threads.c) */
#endif
    cbce__thread_fn fn;
    void *arg;
} cbce__thread;

/* Starts fn(arg) on another thread. 0 on success; nonzero when the system
 * refuses (the caller then goes on without it) or, with wake == 0, when no
 * kept helper is awake: then no thread is woken or created. `t` must stay
 * alive and unmoved until cbce__thread_join. (Windows starts a thread
 * whatever `wake` says: it keeps no helpers.) */
int cbce__thread_start(cbce__thread *t, cbce__thread_fn fn, void *arg, int wake);
/* Takes back a start whose function has not begun (and now never will):
 * nonzero then, and `t` needs no join. 0 when fn may be running or done. */
int cbce__thread_cancel(cbce__thread *t);
/* Waits for a started thread to finish and releases it. */
void cbce__thread_join(cbce__thread *t);
/* Records that a threaded call ended now; cbce__thread_recent() is nonzero
 * while the last one ended less than about SPIN_NS (threads.c) ago. Both
 * are relaxed and approximate: they only steer cbce__thread_start's wake. */
void cbce__thread_note_call(void);
int cbce__thread_recent(void);
/* The CPU the calling thread runs on (Linux), else -1. */
int cbce__thread_current_cpu(void);
/* Moves the calling thread off `cpu` (Linux): its affinity without `cpu`,
 * which migrates it at once, then the affinity it had, which leaves it
 * where it now is. 1 if it did so; 0 (nothing done) where `cpu` is its
 * only allowed CPU or the OS has no such call. A helper whose starter runs
 * on its CPU calls it before the offered function (threads.c). */
int cbce__thread_move_off_cpu(int cpu);

/* ---- Flags shared between threads ------------------------------------------
 * Plain int flags read and written atomically with relaxed ordering: they
 * only tell threads to stop early, never carry data (results travel through
 * memory that cbce__thread_join synchronizes). The task counter hands each
 * number out once. Atomic builtins on gcc/clang
 * keep ThreadSanitizer informed; MSVC reads and writes an aligned volatile
 * int atomically. */
#if defined(__GNUC__) || defined(__clang__)
static __inline__ int cbce__flag_get(const int *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static __inline__ void cbce__flag_set(int *p, int v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
/* Returns *p and adds 1, atomically: hands out task numbers. */
static __inline__ int cbce__counter_next(int *p)
{
    return __atomic_fetch_add(p, 1, __ATOMIC_RELAXED);
}
#else
#include <intrin.h>
static __inline int cbce__flag_get(const int *p)
{
    return *(const volatile int *)p;
}
static __inline void cbce__flag_set(int *p, int v)
{
    *(volatile int *)p = v;
}
static __inline int cbce__counter_next(int *p)
{
    return (int)_InterlockedExchangeAdd((volatile long *)p, 1); /* long: 32 bits there */
}
#endif

#endif /* CBCE_THREADS_H */
