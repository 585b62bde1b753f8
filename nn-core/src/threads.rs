//! The worker pool for batch work, sized by `TYPED_NN_THREADS` (default: all cores).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::OnceLock;

/// The environment variable that caps the threads used for batch work.
pub const THREADS_ENV: &str = "TYPED_NN_THREADS";

/// The number of worker threads: `TYPED_NN_THREADS` when it is a positive integer, else the
/// number of cores. Read once, when batch work first runs.
pub fn thread_count() -> usize {
    pool().current_num_threads()
}

/// The shared pool batch work runs on. Single-sample `predict` never uses it.
///
/// When the program's main thread is the first to run batch work and the pool has two or more
/// threads, the main thread becomes the pool's first worker (rayon's `use_current_thread`)
/// and one fewer thread is spawned. Batch work started on it then runs in place, the main
/// thread taking its share, instead of being handed to the pool while the main thread sleeps
/// until the pool wakes it, which costs a wake-up on every batch job after a pause
/// (`BENCHMARKS.md`, "Design measurements"). A side effect: rayon
/// parallel iterators that the program itself starts on the main thread run on this pool too.
/// Other threads hand their work to the pool as before.
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::env::var(THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let builder = || {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(|i| format!("typed-nn-{i}"))
        };
        // With one thread the main thread would be the only worker, and work handed in from
        // other threads would wait for it; with two or more a spawned worker takes that.
        let built = if threads > 1 && std::thread::current().name() == Some("main") {
            // Fails if the main thread already works for another pool: then as any thread.
            builder()
                .use_current_thread()
                .build()
                .or_else(|_| builder().build())
        } else {
            builder().build()
        };
        built
            .or_else(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build())
            .expect("a one-thread pool can always be built")
    })
}

/// Runs `f` with the pool's other threads kept awake until it returns, each spinning and
/// taking any work handed to the pool. A training step hands work over several times (its
/// batch's parts, shards, gradients and update), and a hand-off to a thread that has gone to
/// sleep in between waits for the system to wake it: in a virtual machine, tens of
/// microseconds each time. Only for batch work, which may take every core. Called from a
/// thread that is not one of the pool's (the pool was built from another thread, or `f` runs
/// inside another pool), `f` just runs.
///
/// The spinners are offered, never awaited: rayon does not promise that a job pushed to this
/// thread's queue wakes a sleeping thread (it counts on the pushing thread to run the job
/// itself in the end), so `f` starts at once, and a spinner that this thread takes back, in
/// one of `f`'s joins or after `f`, returns at once instead of spinning on the thread that
/// has to set its stop flag.
pub(crate) fn awake<R>(f: impl FnOnce() -> R) -> R {
    let pool = pool();
    let others = pool.current_num_threads().saturating_sub(1);
    let here = pool.current_thread_index();
    if others == 0 || here.is_none() {
        return f();
    }
    let done = AtomicBool::new(false);
    let spin = || {
        if rayon::current_thread_index() == here {
            return;
        }
        while !done.load(Ordering::Acquire) {
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                core::hint::spin_loop();
            }
        }
    };
    let work = || {
        // The spinners stop when `f` returns or unwinds (`join` waits for them either way).
        let _stop = StopOnDrop(&done);
        f()
    };
    with_spinners(others, OnThisThread(work), &spin).0
}

/// `work`, with `n` spinners offered to the pool's other threads beside it (the second half
/// of a `rayon::join` each, which allocates nothing where a spawned task would).
fn with_spinners<R>(
    n: usize,
    work: OnThisThread<impl FnOnce() -> R>,
    spin: &(impl Fn() + Sync),
) -> OnThisThread<R> {
    if n == 0 {
        return OnThisThread((work.0)());
    }
    rayon::join(|| with_spinners(n - 1, work, spin), spin).0
}

/// Sets its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// A closure, or its result, that stays on the thread that made it: the first half of a
/// `rayon::join` called on one of the pool's own threads runs on that thread.
struct OnThisThread<T>(T);

// SAFETY: an `OnThisThread` is only handed to `rayon::join` as its first closure or that
// closure's result, from one of the pool's threads (checked in `awake`), where rayon runs the
// first closure on the calling thread and returns its result there: nothing crosses threads.
unsafe impl<T> Send for OnThisThread<T> {}

/// Calls `f` with every part in `parts`, halving the range with [`join`] as the
/// optimizer's update halves the weights (`optim::elementwise`), so that part `i` most likely
/// runs on the thread that later updates piece `i` of the weights. Call it on the pool.
pub(crate) fn for_each_part(parts: core::ops::Range<usize>, f: &(impl Fn(usize) + Sync)) {
    for_each_part_mut(parts, &mut [(); 0], &|_| 0, &|part, _| f(part));
}

/// [`for_each_part`] with each part's own piece of `data`: part `p` gets
/// `data[start(p) - start(parts.start)..start(p + 1) - start(parts.start)]`, where `start` is
/// increasing and `data` runs from `start(parts.start)` to `start(parts.end)`.
pub(crate) fn for_each_part_mut<T: Send>(
    parts: core::ops::Range<usize>,
    data: &mut [T],
    start: &(impl Fn(usize) -> usize + Sync),
    f: &(impl Fn(usize, &mut [T]) + Sync),
) {
    if parts.len() <= 1 {
        if let Some(part) = parts.clone().next() {
            f(part, data);
        }
        return;
    }
    let mid = parts.start + parts.len() / 2;
    let (low, high) = data.split_at_mut(start(mid) - start(parts.start));
    join(
        parts.end - mid == 1,
        || for_each_part_mut(parts.start..mid, low, start, f),
        || for_each_part_mut(mid..parts.end, high, start, f),
    );
}

/// How long a thread spins in [`join`] for the other half before rayon's wait takes over.
const SPIN_LIMIT: std::time::Duration = std::time::Duration::from_micros(200);

/// `rayon::join(a, b)`, except that where `b` is `one_piece` of work, a thread that finishes
/// `a` while another thread is still running `b` spins until `b` is done (for up to
/// [`SPIN_LIMIT`]). rayon's own wait yields a few dozen times and then sleeps, and in a virtual
/// machine the wake-up when `b` finishes took 12-29 µs of a 215 µs two-thread `predict_batch`
/// (`BENCHMARKS.md`, "Design measurements"). Batch work only, like [`awake`]: the spinning
/// thread takes no other work meanwhile, which is why a `b` of several parts, which this
/// thread should help with, is left to rayon's wait. Past the limit a wake-up costs little
/// against the wait, and the core goes back to whoever needs it (more threads than cores).
/// When `b` has not started, rayon runs it here.
pub(crate) fn join<RA: Send, RB: Send>(
    one_piece: bool,
    a: impl FnOnce() -> RA + Send,
    b: impl FnOnce() -> RB + Send,
) -> (RA, RB) {
    if !one_piece {
        return rayon::join(a, b);
    }
    const RUNNING: u8 = 1;
    const DONE: u8 = 2;
    let state = AtomicU8::new(0);
    rayon::join(
        || {
            let done = a();
            if state.load(Ordering::Acquire) == RUNNING {
                let start = std::time::Instant::now();
                while state.load(Ordering::Acquire) == RUNNING && start.elapsed() < SPIN_LIMIT {
                    core::hint::spin_loop();
                }
            }
            done
        },
        || {
            state.store(RUNNING, Ordering::Relaxed);
            // Marked done however `b` ends: a panic must not leave `a`'s thread spinning.
            let _done = SetOnDrop(&state, DONE);
            b()
        },
    )
}

/// Stores its value in its atomic when dropped.
struct SetOnDrop<'a>(&'a AtomicU8, u8);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(self.1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` on a thread of its own and fails if it has not returned within 20 s, so that
    /// a spin that never ends shows as a failure, not a hang.
    fn within_20_s<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        use std::sync::mpsc::RecvTimeoutError;
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || send.send(f()));
        match receive.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(value) => value,
            Err(RecvTimeoutError::Timeout) => panic!("still running after 20 s"),
            Err(RecvTimeoutError::Disconnected) => panic!("panicked (see above)"),
        }
    }

    /// `join` on two threads, `b` taken by the other one and still running when `a` returns:
    /// both results come back, and a panic in either half comes back as a panic once both
    /// have ended.
    #[test]
    fn join_waits_for_a_b_running_elsewhere_and_passes_on_a_panic() {
        use std::time::{Duration, Instant};
        let run = |fail: Option<char>| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            let started = AtomicBool::new(false);
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| {
                    let me = rayon::current_thread_index();
                    join(
                        true,
                        || {
                            // Until the other thread has taken `b`, so that `a` ends first.
                            let start = Instant::now();
                            while !started.load(Ordering::Acquire) {
                                assert!(start.elapsed() < Duration::from_secs(10), "b never taken");
                                std::thread::yield_now();
                            }
                            assert!(fail != Some('a'), "inside a");
                            1
                        },
                        || {
                            started.store(true, Ordering::Release);
                            std::thread::sleep(Duration::from_millis(30));
                            assert!(fail != Some('b'), "inside b");
                            (rayon::current_thread_index() != me) as u32 + 1
                        },
                    )
                })
            }));
            caught.map_err(|_| ())
        };
        assert_eq!(within_20_s(move || run(None)), Ok((1, 2)));
        assert_eq!(within_20_s(move || run(Some('a'))), Err(()));
        assert_eq!(within_20_s(move || run(Some('b'))), Err(()));
    }

    /// Seven parts of uneven size on two threads (joins inside joins): each part runs once,
    /// on its own piece of the data.
    #[test]
    fn for_each_part_mut_gives_each_part_its_piece_once() {
        use std::sync::atomic::AtomicUsize;
        let got = within_20_s(|| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(2)
                .build()
                .unwrap();
            let start = |p: usize| p * p;
            let mut data = vec![0usize; start(7)];
            let calls: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
            pool.install(|| {
                for_each_part_mut(0..7, &mut data, &start, &|part, piece| {
                    calls[part].fetch_add(1, Ordering::Relaxed);
                    assert_eq!(piece.len(), start(part + 1) - start(part), "part {part}");
                    piece.iter_mut().for_each(|v| *v += part + 1);
                })
            });
            let calls: Vec<usize> = calls.into_iter().map(AtomicUsize::into_inner).collect();
            (data, calls)
        });
        let owner = |i: usize| (0..7).find(|&p| i < (p + 1) * (p + 1)).unwrap();
        for (i, &v) in got.0.iter().enumerate() {
            assert_eq!(v, owner(i) + 1, "element {i}");
        }
        assert_eq!(got.1, [1; 7]);
    }

    /// On one thread, `b` is never taken: `join` runs it after `a`, without waiting.
    #[test]
    fn join_on_one_thread_runs_both_halves_in_turn() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let order = std::sync::Mutex::new(Vec::new());
        let got = within_20_s(move || {
            pool.install(|| {
                join(
                    true,
                    || order.lock().unwrap().push('a'),
                    || order.lock().unwrap().push('b'),
                )
            });
            order.into_inner().unwrap()
        });
        assert_eq!(got, ['a', 'b']);
    }

    /// From one of the pool's threads, `awake` runs `f` on that thread while the others spin
    /// and take its work, returns what `f` returns, and passes on a panic without hanging.
    #[test]
    fn awake_runs_its_work_and_lets_the_spinners_go() {
        let pool = pool();
        let (here, sum) = pool.install(|| {
            let me = pool.current_thread_index();
            awake(|| {
                let (a, b) = rayon::join(|| (1..=100).sum::<u64>(), || (101..=200).sum::<u64>());
                (pool.current_thread_index() == me, a + b)
            })
        });
        assert!(here);
        assert_eq!(sum, 20_100);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| awake(|| panic!("inside")))
        }));
        assert!(caught.is_err());
        // Off the pool it just runs.
        assert_eq!(awake(|| 7), 7);
    }

    /// With every other thread of the pool busy, nobody takes the spinners: `awake` still runs
    /// `f` and returns, taking its own spinners back, instead of waiting for a thread that
    /// never comes. (A thread asleep when the spinners are offered may miss them the same
    /// way: rayon does not promise to wake it.) The busy threads are let go by a watchdog
    /// after 20 s at the latest, so a wait for the spinners shows as a failure, not a hang.
    #[test]
    fn awake_does_not_wait_for_threads_that_never_come() {
        use std::sync::{atomic::AtomicUsize, Arc};
        use std::time::{Duration, Instant};
        let pool = pool();
        let others = pool.current_num_threads() - 1;
        if others == 0 {
            return;
        }
        let release = Arc::new(AtomicBool::new(false));
        let watchdog = {
            let release = Arc::clone(&release);
            std::thread::spawn(move || {
                let start = Instant::now();
                while !release.load(Ordering::Acquire) {
                    if start.elapsed() > Duration::from_secs(20) {
                        release.store(true, Ordering::Release);
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                false
            })
        };
        let busy = Arc::new(AtomicUsize::new(0));
        let returned = pool.install(|| {
            for _ in 0..others {
                let (release, busy) = (Arc::clone(&release), Arc::clone(&busy));
                pool.spawn(move || {
                    busy.fetch_add(1, Ordering::AcqRel);
                    while !release.load(Ordering::Acquire) {
                        std::thread::yield_now();
                    }
                });
            }
            while busy.load(Ordering::Acquire) < others && !release.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            let value = awake(|| 7);
            (value, !release.swap(true, Ordering::AcqRel))
        });
        let fired = watchdog.join().unwrap();
        assert_eq!(returned, (7, true));
        assert!(!fired, "the pool's other threads were never all busy");
    }
}
