//! Single-sample `predict`, and a training step after the first, perform no heap allocation
//! (a counting global allocator sees none); the training step only where this crate's own
//! kernels run (AVX2 + FMA or AVX-512).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use typed_nn::prelude::*;

/// Counts allocations made by this thread's test while `COUNTING` is on.
struct Counting;

thread_local! {
    // Per thread: the other tests of this binary run (and allocate) on their own threads.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(|c| c.get()) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

model! {
    struct Mnist { Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax> }
    struct LeNet5 {
        Input<28, 28, 1> => Conv2D<6, 5, Relu, padding = Same> => MaxPool2D<2> => Conv2D<16, 5, Relu>
            => MaxPool2D<2> => Flatten => Dense<120, Relu> => Dense<84, Relu> => Dense<10, Softmax>
    }
    /// The Keras-trained fixture, baked in at compile time.
    #[weights = "tests/fixtures/keras_mnist_mlp.safetensors"]
    struct Baked { Input<28, 28> => Flatten => Dense<64, Relu> => Dropout<0.2> => Dense<10, Softmax> }
    struct Normed { Input<8, 8, 2> => Conv2D<4, 3, stride = 2> => BatchNorm => AvgPool2D<2> => Flatten => Dense<3, Tanh> }
    struct Wide {
        let a = Input<10>;
        let b = Input<28>;
        let h = b => Dense<16, Relu> => Dense<8, Relu>;
        let shared = Dense<8, Tanh>;
        let main = Concatenate(a, Add(h => shared, h)) => Dense<1, Sigmoid>;
        let side = h => shared => Dense<1>;
        (main, side)
    }
}

#[test]
fn predict_allocates_nothing() {
    let mnist = Mnist::new(1);
    let x = [[0.5f32; 28]; 28];
    let mut y = [0.0f32; 10];
    assert_eq!(allocations_during(|| y = mnist.predict(&x)), 0);
    assert!((y.iter().sum::<f32>() - 1.0).abs() < 1e-5);

    let lenet = LeNet5::new(2);
    let image = [[[0.25f32]; 28]; 28];
    assert_eq!(allocations_during(|| y = lenet.predict(&image)), 0);

    let normed = Normed::new(3);
    let z = [[[0.1f32; 2]; 8]; 8];
    let mut out = [0.0f32; 3];
    assert_eq!(allocations_during(|| out = normed.predict(&z)), 0);
    let baked = Baked::baked();
    assert_eq!(
        allocations_during(|| y = baked.predict(&x)),
        0,
        "baked model"
    );

    let wide = Wide::new(4);
    let mut pair = ([0.0f32], [0.0f32]);
    assert_eq!(
        allocations_during(|| pair = wide.predict(&([0.5; 10], [0.25; 28]))),
        0,
        "a graph with two inputs and outputs"
    );
    assert!(pair.0[0] > 0.0 && pair.0[0] < 1.0);

    // The counter itself works: a batch allocates its outputs.
    assert!(allocations_during(|| drop(mnist.predict_batch(&[x, x]))) > 0);
}

#[test]
fn a_training_step_allocates_nothing_after_the_first() {
    // 63 samples: one shard whatever the thread count (a shard needs 32), so the step runs on
    // this thread, where the counter sees it.
    let xs: Vec<[[f32; 28]; 28]> = (0..63)
        .map(|s| {
            std::array::from_fn(|r| {
                std::array::from_fn(|c| ((r * 28 + c + s) % 255) as f32 / 255.0)
            })
        })
        .collect();
    let ys: Vec<usize> = (0..63).map(|s| s % 10).collect();
    // Without AVX2 + FMA the training products go to the `matrixmultiply` crate, which
    // allocates its packing buffers on every call (README, "How the speed comes about"): the
    // steps must still train, but only this crate's own kernels keep their buffers.
    let own_kernels = typed_nn::__private::Isa::detect() != typed_nn::__private::Isa::Portable;
    let allocates_nothing = |count: usize, what: &str| {
        if own_kernels {
            assert_eq!(count, 0, "{what}");
        }
    };
    let mut mnist = Mnist::new(4);
    let mut adam = Adam::new(0.001);
    let step = |net: &mut Mnist<f32>, adam: &mut Adam<f32>| {
        net.train_step(adam, &SparseCategoricalCrossentropy, &xs, &ys)
    };
    let first = step(&mut mnist, &mut adam);
    let mut second = 0.0;
    allocates_nothing(
        allocations_during(|| second = step(&mut mnist, &mut adam)),
        "Mnist",
    );
    assert!(second < first, "the step trained: {first} -> {second}");

    // Mostly-zero images, like MNIST's: the products list each tile's live steps, in buffers
    // kept from the first step.
    let sparse: Vec<[[f32; 28]; 28]> = xs
        .iter()
        .enumerate()
        .map(|(s, x)| {
            let mut image = [[0.0f32; 28]; 28];
            for (r, row) in image.iter_mut().enumerate().skip(8 + s % 5).take(10) {
                row[8 + s % 7..18 + s % 7].copy_from_slice(&x[r][8..18]);
            }
            image
        })
        .collect();
    let sparse_step = |net: &mut Mnist<f32>, adam: &mut Adam<f32>| {
        net.train_step(adam, &SparseCategoricalCrossentropy, &sparse, &ys)
    };
    let mut adam = Adam::new(0.001);
    let first = sparse_step(&mut mnist, &mut adam);
    allocates_nothing(
        allocations_during(|| second = sparse_step(&mut mnist, &mut adam)),
        "Mnist on mostly-zero images",
    );
    assert!(second < first, "the step trained: {first} -> {second}");

    // A convolutional model: its patches are gathered in place (or unrolled into the cache
    // where the filters are many), never into fresh buffers. 15 samples stay in one shard.
    let images: Vec<[[[f32; 1]; 28]; 28]> = xs[..15]
        .iter()
        .map(|x| x.map(|row| row.map(|v| [v])))
        .collect();
    let mut lenet = LeNet5::new(5);
    let mut adam = Adam::new(0.001);
    let first = lenet.train_step(
        &mut adam,
        &SparseCategoricalCrossentropy,
        &images,
        &ys[..15],
    );
    let mut second = 0.0;
    allocates_nothing(
        allocations_during(|| {
            second = lenet.train_step(
                &mut adam,
                &SparseCategoricalCrossentropy,
                &images,
                &ys[..15],
            )
        }),
        "LeNet5",
    );
    assert!(
        second < first,
        "the LeNet step trained: {first} -> {second}"
    );
}
