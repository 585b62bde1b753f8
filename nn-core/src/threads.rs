//! The worker pool for batch work, sized by `TYPED_NN_THREADS` (default: all cores).

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

/// Calls `f` with every part in `parts`, halving the range with `rayon::join` as the
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
    rayon::join(
        || for_each_part_mut(parts.start..mid, low, start, f),
        || for_each_part_mut(mid..parts.end, high, start, f),
    );
}
