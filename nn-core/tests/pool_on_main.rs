//! The worker pool when the program's main thread starts it (`threads::pool`): the main thread
//! is its first worker, work started there is shared with the spawned worker, and work handed
//! in from another thread still runs while the main thread is blocked. Its own binary without
//! libtest's harness, since libtest runs tests on threads of their own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use nn_core::__private::{pool, THREADS_ENV};
use rayon::prelude::*;

fn main() {
    // Before anything reads it: the pool is built once, on first use.
    std::env::set_var(THREADS_ENV, "2");
    assert_eq!(std::thread::current().name(), Some("main"));
    let pool = pool();
    assert_eq!(pool.current_num_threads(), 2);
    assert_eq!(
        pool.current_thread_index(),
        Some(0),
        "the main thread should be the pool's first worker"
    );

    // Two halves that can only finish together: they must run on two threads at once, so the
    // spawned worker takes the half the main thread does not.
    let arrived = AtomicUsize::new(0);
    let meet = || {
        arrived.fetch_add(1, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while arrived.load(Ordering::SeqCst) < 2 {
            assert!(
                Instant::now() < deadline,
                "the other half never ran alongside"
            );
            std::hint::spin_loop();
        }
        rayon::current_thread_index()
    };
    let (a, b) = pool.install(|| rayon::join(meet, meet));
    assert_ne!(a, b, "both halves ran on one thread");

    // Work from another thread, while the main thread waits for that thread (and so never
    // works for the pool): the spawned worker runs all of it.
    let sum: u64 = std::thread::spawn(move || pool.install(|| (1..=1000u64).into_par_iter().sum()))
        .join()
        .expect("the other thread's batch work finished");
    assert_eq!(sum, 500_500u64);
    println!("pool_on_main: ok");
}
