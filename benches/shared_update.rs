//! What a two-thread training step pays to update weights both threads have read.
//!
//! A step split across threads by samples has every thread read the whole kernel (to pack it
//! for its shard's forward pass); then each thread updates half of it. Writing a cache line
//! the other core also holds first takes that core's copy away, so the update runs at the
//! speed of the cores' coherence traffic, not of the cache. This times the update phase of the
//! 784-300-10 MLP's first layer (784 x 300 weights) in two ways, alternated round by round:
//!
//! - `shared`: each thread reads all the weights, writes its own gradient, then updates its
//!   half from the two gradients (what `Workspace::train_step` does with two shards);
//! - `private`: the same, but each thread reads only the half it goes on to update (twice,
//!   so that it reads as many bytes).
//!
//! The gap between the two is what a two-thread step pays for the sharing alone (figures in
//! `BENCHMARKS.md`). `cargo bench --bench shared_update`.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The 784-300-10 MLP's first kernel.
const N: usize = 784 * 300;
/// Rounds per layout.
const ROUNDS: usize = 300;

/// A barrier for two threads that spins instead of sleeping, so that waking costs nothing.
struct SpinBarrier {
    arrived: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) == 1 {
            self.arrived.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::Release);
        } else {
            while self.generation.load(Ordering::Acquire) == generation {
                std::hint::spin_loop();
            }
        }
    }
}

/// The sum of `xs` in sixteen running sums (a loop the compiler vectorises).
fn read(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    for c in xs.chunks_exact(16) {
        acc.iter_mut().zip(c).for_each(|(a, &x)| *a += x);
    }
    acc.iter().sum()
}

/// Pointer to one of the buffers the two threads share; they coordinate every access through
/// the barrier, as [`rounds`] describes.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: see above.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

/// One thread's rounds: returns the update phase's time in each round (microseconds).
///
/// Before the first barrier of a round the thread reads the weights and writes its own
/// gradient (`grads[half]`); between the two barriers it reads both gradients and writes its
/// half of the weights. No thread writes what the other reads in the same phase.
fn rounds(
    half: usize,
    weights: Shared,
    grads: [Shared; 2],
    private: bool,
    barrier: &SpinBarrier,
) -> Vec<f64> {
    let range = half * N / 2..(half + 1) * N / 2;
    let mut times = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        {
            // SAFETY: in this phase nobody writes the weights, and only this thread touches
            // `grads[half]`.
            let (all, mine) = unsafe {
                (
                    std::slice::from_raw_parts(weights.0, N),
                    std::slice::from_raw_parts_mut(grads[half].0, N),
                )
            };
            let sum = if private {
                read(&all[range.clone()]) + read(&all[range.clone()])
            } else {
                read(all)
            };
            black_box(sum);
            mine.iter_mut()
                .enumerate()
                .for_each(|(i, g)| *g = (i % 7) as f32 * 1e-3 + round as f32 * 1e-6);
        }
        barrier.wait();
        let start = Instant::now();
        {
            // SAFETY: in this phase both gradients are only read, and each thread writes only
            // its own half of the weights.
            let (w, a, b) = unsafe {
                (
                    std::slice::from_raw_parts_mut(weights.0.add(range.start), range.len()),
                    std::slice::from_raw_parts(grads[0].0.add(range.start), range.len()),
                    std::slice::from_raw_parts(grads[1].0.add(range.start), range.len()),
                )
            };
            w.iter_mut()
                .zip(a.iter().zip(b))
                .for_each(|(w, (&a, &b))| *w -= 0.01 * (a + b));
        }
        barrier.wait();
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    times
}

fn main() {
    let mut weights: Vec<f32> = (0..N).map(|i| (i % 13) as f32 * 1e-3).collect();
    let mut grads = [vec![0.0f32; N], vec![0.0f32; N]];
    let mut results: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for pass in 0..6 {
        let private = pass % 2 == 1;
        let barrier = SpinBarrier {
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        };
        let w = Shared(weights.as_mut_ptr());
        let g = [Shared(grads[0].as_mut_ptr()), Shared(grads[1].as_mut_ptr())];
        let times = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|half| {
                    let barrier = &barrier;
                    s.spawn(move || rounds(half, w, g, private, barrier))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect::<Vec<_>>()
        });
        // The phase ends at the slower thread.
        results[usize::from(private)]
            .extend(times[0].iter().zip(&times[1]).map(|(a, b)| a.max(*b)));
    }
    for (name, times) in ["shared", "private"].iter().zip(results.iter_mut()) {
        times.sort_by(f64::total_cmp);
        println!(
            "{name:8} update of half a 784 x 300 kernel per thread: best {:6.1} us, median {:6.1} us",
            times[0],
            times[times.len() / 2]
        );
    }
    black_box(&weights);
}
