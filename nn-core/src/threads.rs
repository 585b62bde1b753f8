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
pub fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::env::var(THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("typed-nn-{i}"))
            .build()
            .or_else(|_| rayon::ThreadPoolBuilder::new().num_threads(1).build())
            .expect("a one-thread pool can always be built")
    })
}
