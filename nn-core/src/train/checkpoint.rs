//! Training checkpoints: weights plus everything `fit` needs to continue exactly where it
//! stopped — the optimizer's slots, iteration count and learning rate, the last finished
//! epoch, and the positions of the dropout, shuffling and augmentation random streams.
//!
//! One safetensors file holds it all (the training state under `optimizer/` and in the
//! metadata), written atomically, so a crash mid-save leaves the previous checkpoint intact
//! and the file still loads with `Model::load`.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::trainee::Trainee;
use crate::io::TrainingState;
use crate::optim::Optimizer;
use crate::{Error, Float};

/// `fit`'s own random streams at the end of an epoch.
pub(crate) struct Streams<'a> {
    pub shuffle: &'a ChaCha8Rng,
    pub augment: &'a ChaCha8Rng,
}

/// What `resume` restores besides the model and optimizer.
pub(crate) struct Resumed {
    pub next_epoch: usize,
    pub shuffle: ChaCha8Rng,
    pub augment: ChaCha8Rng,
}

/// A ChaCha stream as `seed:stream:word_pos`, all hexadecimal.
fn encode(rng: &ChaCha8Rng) -> String {
    let seed: String = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
    format!("{seed}:{:x}:{:x}", rng.get_stream(), rng.get_word_pos())
}

fn decode(text: &str) -> Option<ChaCha8Rng> {
    let mut parts = text.split(':');
    let seed_hex = parts.next()?;
    if seed_hex.len() != 64 {
        return None;
    }
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&seed_hex[2 * i..2 * i + 2], 16).ok()?;
    }
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(u64::from_str_radix(parts.next()?, 16).ok()?);
    rng.set_word_pos(u128::from_str_radix(parts.next()?, 16).ok()?);
    Some(rng)
}

/// Writes the checkpoint after epoch `epoch` (from 0).
pub(crate) fn save<T: Float, O: Optimizer<T> + ?Sized>(
    model: &mut dyn Trainee<T>,
    path: &Path,
    epoch: usize,
    optimizer: &O,
    streams: Streams<'_>,
) -> Result<(), Error> {
    let mut state = TrainingState {
        arrays: optimizer.state(),
        ..TrainingState::default()
    };
    let meta = &mut state.metadata;
    meta.insert("epoch".into(), epoch.to_string());
    meta.insert("iterations".into(), optimizer.iterations().to_string());
    meta.insert(
        "learning_rate".into(),
        format!("{:e}", optimizer.learning_rate()),
    );
    meta.insert("rng_dropout".into(), encode(&model.training_rng()));
    meta.insert("rng_shuffle".into(), encode(streams.shuffle));
    meta.insert("rng_augment".into(), encode(streams.augment));
    model.save_checkpoint(path, &state)
}

/// Restores model, optimizer and random streams from a checkpoint; nothing changes on error.
pub(crate) fn resume<T: Float, O: Optimizer<T> + ?Sized>(
    model: &mut dyn Trainee<T>,
    path: &Path,
    optimizer: &mut O,
) -> Result<Resumed, Error> {
    let before = model.weights_f64();
    let state = model.load_checkpoint(path)?;
    let parsed = (|| -> Result<Resumed, String> {
        let meta = &state.metadata;
        let field = |key: &str| {
            meta.get(key)
                .ok_or_else(|| format!("not a training checkpoint: no `{key}`"))
        };
        let number = |key: &str| {
            field(key)?
                .parse::<f64>()
                .map_err(|_| format!("bad `{key}`"))
        };
        let stream = |key: &str| decode(field(key)?).ok_or_else(|| format!("bad `{key}`"));
        let epoch = number("epoch")? as usize;
        let iterations = number("iterations")? as u64;
        let lr = number("learning_rate")?;
        let (dropout, shuffle, augment) = (
            stream("rng_dropout")?,
            stream("rng_shuffle")?,
            stream("rng_augment")?,
        );
        optimizer
            .set_state(&state.arrays)
            .map_err(|e| e.to_string())?;
        optimizer.set_learning_rate(lr);
        optimizer.set_iterations(iterations);
        model.set_training_rng(dropout);
        Ok(Resumed {
            next_epoch: epoch + 1,
            shuffle,
            augment,
        })
    })();
    parsed.map_err(|reason| {
        let _ = model.set_weights_f64(&before);
        Error::format(path, reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngCore;

    #[test]
    fn random_streams_round_trip_mid_sequence() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        rng.set_stream(7);
        for _ in 0..13 {
            rng.next_u32();
        }
        let mut copy = decode(&encode(&rng)).unwrap();
        assert_eq!(
            (0..5).map(|_| rng.next_u64()).collect::<Vec<_>>(),
            (0..5).map(|_| copy.next_u64()).collect::<Vec<_>>()
        );
        assert!(decode("zz").is_none());
    }
}
