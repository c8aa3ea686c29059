"""Built-in programs: plain async functions over a ProgramContext.

Options come from the process's command line (`--name VALUE`), so the one command language
configures them: `spawn init program=init cmdline="/sbin/init --no-reap"`.
"""
from __future__ import annotations

import errno
import signal

from kernel_model import KernelError

from .program_context import Program, ProgramContext

PAGE = 4096


async def init(ctx: ProgramContext) -> None:
    """PID 1: reaps every child that exits -- unless `--no-reap` (the container PID-1 problem) or
    the init_does_not_reap bug switch is on."""
    if ctx.flag("no-reap"):
        ctx.log("not reaping children (--no-reap)")
    while True:
        if ctx.flag("no-reap") or ctx.init_does_not_reap():
            await ctx.sleep(0.5)
            continue
        if ctx.try_wait() is None:
            await ctx.child_event(timeout=0.5)  # wake up to notice the switch being turned off


async def shell(ctx: ProgramContext) -> None:
    """An interactive shell: now and then runs a short command and waits for it."""
    if ctx.forked:  # the command it runs
        ctx.set_load(0.3)
        await ctx.sleep(ctx.random.uniform(0.2, 1.0))
        ctx.exit(0)
    interval = float(ctx.option("every", "5") or 5)
    while True:
        await ctx.sleep(interval + ctx.random.uniform(0, 1))
        ctx.fork()
        await ctx.wait()


async def daemon(ctx: ProgramContext) -> None:
    """A service: a little CPU and a working set it touches every second."""
    ctx.set_load(float(ctx.option("load", "0.05") or 0.05))
    size = 16 * PAGE
    heap = ctx.mmap(size, name="heap")
    while True:
        ctx.touch(heap, ctx.random.randrange(1, 17) * PAGE)
        await ctx.sleep(1)


async def leaky_parent(ctx: ProgramContext) -> None:
    """Forks children that exit, and never waits for them: zombies pile up."""
    if ctx.forked:
        await ctx.sleep(float(ctx.option("lifetime", "0.5") or 0.5))
        ctx.exit(ctx.random.randrange(0, 3))
    children = int(ctx.option("children", "3") or 3)
    interval = float(ctx.option("interval", "1") or 1)
    for _ in range(children):
        ctx.fork()
        await ctx.sleep(interval)
    while True:
        await ctx.sleep(3600)


async def memory_hog(ctx: ProgramContext) -> None:
    """Touches ever more uncommitted memory until a page fault finds none and kills it."""
    chunk = int(ctx.option("chunk-pages", "2048") or 2048) * PAGE
    size = 2 * ctx.kernel.mm.total * PAGE  # more than the machine has: the fault will fail first
    region = ctx.mmap(size, noreserve=True, name="hog")
    offset = 0
    while offset < size:
        ctx.touch(region + offset, min(chunk, size - offset))  # ProgramExit once the OOM kill happens
        offset += chunk
        await ctx.sleep(0.1)
    while True:  # only if purging kept up: hold on to what it has
        await ctx.sleep(3600)


async def cache(ctx: ProgramContext) -> None:
    """A browser-style cache: fills purgeable memory, marks it volatile while idle, and takes it
    back non-volatile when needed again -- refilling it if the kernel purged it meanwhile."""
    size = int(ctx.option("pages", "2048") or 2048) * PAGE
    region = ctx.mmap(size, purgeable=True, name="cache")
    ctx.touch(region, size)
    while True:
        ctx.madvise(region, size, volatile=True)
        await ctx.sleep(float(ctx.option("idle", "2") or 2))
        try:
            purged = ctx.madvise(region, size, volatile=False)
        except KernelError as e:
            if e.errno != errno.ENOMEM:
                raise
            ctx.log("cannot make the cache non-volatile: out of memory")
            await ctx.sleep(1)
            continue
        if purged:
            ctx.log("cache was purged; refilling")
            ctx.touch(region, size)
        await ctx.sleep(1)


async def fork_bomb(ctx: ProgramContext) -> None:
    """Forks until fork fails (ENOMEM or EAGAIN); every child does the same."""
    while True:
        try:
            ctx.fork()
        except KernelError as e:
            if e.errno not in (errno.ENOMEM, errno.EAGAIN):
                raise
            ctx.log(f"fork failed: {e.name}")
            while True:
                await ctx.sleep(3600)
        await ctx.sleep(0.1)


async def sleeper(ctx: ProgramContext) -> None:
    """Sleeps for `--seconds` (forever by default), then exits with `--code`."""
    seconds = ctx.option("seconds")
    if seconds is None:
        while True:
            await ctx.sleep(3600)
    await ctx.sleep(float(seconds))
    ctx.exit(int(ctx.option("code", "0") or 0))


async def crasher(ctx: ProgramContext) -> None:
    """A program with a bug: raises after `--after` seconds (kills only its own process)."""
    await ctx.sleep(float(ctx.option("after", "1") or 1))
    raise RuntimeError("simulated bug in a user program")


async def killer(ctx: ProgramContext) -> None:
    """Sends `--signal` to `--target` after `--after` seconds."""
    await ctx.sleep(float(ctx.option("after", "1") or 1))
    ctx.kill(int(ctx.option("target", "0") or 0), signal.Signals[f"SIG{ctx.option('signal', 'TERM')}"])


BUILTIN_PROGRAMS: dict[str, Program] = {
    "init": init, "shell": shell, "daemon": daemon, "leaky_parent": leaky_parent, "memory_hog": memory_hog,
    "cache": cache, "fork_bomb": fork_bomb, "sleeper": sleeper, "crasher": crasher, "killer": killer,
}
