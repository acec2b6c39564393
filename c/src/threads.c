/*
 * threads.c -- start and join threads: Win32 under _WIN32, POSIX elsewhere.
 */
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

int cbce__thread_start(cbce__thread *t, cbce__thread_fn fn, void *arg)
{
    HANDLE h;
    t->fn = fn;
    t->arg = arg;
    /* 0: the executable's default stack size (1 MiB unless linked otherwise),
     * far more than the kernels' ~30 KiB of buffers. */
    h = CreateThread(NULL, 0, trampoline, t, 0, NULL);
    if (h == NULL) return 1;
    t->handle = (void *)h;
    return 0;
}

void cbce__thread_join(cbce__thread *t)
{
    WaitForSingleObject((HANDLE)t->handle, INFINITE);
    CloseHandle((HANDLE)t->handle);
}

#else

/* The kernels keep ~30 KiB of chunk buffers on the stack; musl's default
 * thread stack is 128 KiB and sanitizers inflate frames, so ask for at least
 * this much. */
#define MIN_STACK ((size_t)512 * 1024)

static void *trampoline(void *p)
{
    cbce__thread *t = (cbce__thread *)p;
    t->fn(t->arg);
    return NULL;
}

int cbce__thread_start(cbce__thread *t, cbce__thread_fn fn, void *arg)
{
    pthread_attr_t attr;
    size_t stack = 0;
    int err;
    t->fn = fn;
    t->arg = arg;
    if (pthread_attr_init(&attr) != 0) return 1;
    if (pthread_attr_getstacksize(&attr, &stack) != 0 || stack < MIN_STACK)
        pthread_attr_setstacksize(&attr, MIN_STACK);
    err = pthread_create(&t->id, &attr, trampoline, t);
    pthread_attr_destroy(&attr);
    return err != 0;
}

void cbce__thread_join(cbce__thread *t)
{
    pthread_join(t->id, NULL);
}

#endif
