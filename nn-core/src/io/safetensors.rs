//! Models as safetensors files: one tensor per Keras weight, named `layer/weight`
//! (`dense/kernel`, `batch_normalization/moving_mean`), with Keras's shapes and the model's
//! element type. Loading checks every name, shape and dtype before touching the model.

use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use super::{write_atomic, TrainingState};
use crate::layers::Layer;
use crate::summary::LayerInfo;
use crate::{Error, Float};

/// Tensors under this prefix hold training state (optimizer slots) in checkpoints; loading
/// weights ignores them.
pub const STATE_PREFIX: &str = "optimizer/";

/// The file's name for weight `weight` of layer `layer` (Keras 3's variable path).
pub fn tensor_name(layer: &str, weight: &str) -> String {
    format!("{layer}/{weight}")
}

fn dtype<T: Float>() -> Dtype {
    if T::DTYPE == "F64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

/// Writes every layer's weights to `path` atomically.
pub(crate) fn save_layers<T: Float>(
    path: &Path,
    model: &str,
    infos: &[LayerInfo],
    layers: &[&dyn Layer<T>],
    state: &TrainingState,
) -> Result<(), Error> {
    let mut entries: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = Vec::new();
    for (info, layer) in infos.iter().zip(layers) {
        let mut offset = 0;
        for spec in layer.weight_specs() {
            let values = &layer.weights()[offset..offset + spec.len()];
            offset += spec.len();
            let mut bytes = Vec::with_capacity(std::mem::size_of_val(values));
            values.iter().for_each(|v| v.write_le(&mut bytes));
            entries.push((
                tensor_name(info.name, spec.name),
                spec.shape,
                bytes,
                dtype::<T>(),
            ));
        }
    }
    for (name, values) in &state.arrays {
        let mut bytes = Vec::with_capacity(values.len() * 8);
        values.iter().for_each(|v| v.write_le(&mut bytes));
        entries.push((
            format!("{STATE_PREFIX}{name}"),
            vec![values.len()],
            bytes,
            Dtype::F64,
        ));
    }
    let views = entries
        .iter()
        .map(|(name, shape, bytes, dtype)| {
            Ok((
                name.as_str(),
                TensorView::new(*dtype, shape.clone(), bytes)?,
            ))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| Error::format(path, format!("cannot encode weights: {e}")))?;
    let mut metadata = state.metadata.clone();
    metadata.insert("format".to_string(), "typed-nn".to_string());
    metadata.insert("model".to_string(), model.to_string());
    // safetensors without its `std` feature (which would pull tempfile) keys by hashbrown.
    let bytes = safetensors::serialize(views, Some(metadata.into_iter().collect()))
        .map_err(|e| Error::format(path, format!("cannot encode weights: {e}")))?;
    write_atomic(path, &bytes)
}

/// Reads `path` into the layers, after checking that the file holds exactly the tensors the
/// model has, with the right shapes and element type, and returns any training state it also
/// holds. On any error the layers are unchanged.
pub(crate) fn load_layers<T: Float>(
    path: &Path,
    infos: &[LayerInfo],
    layers: &mut [&mut dyn Layer<T>],
) -> Result<TrainingState, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    load_layers_from_bytes(&bytes, path, infos, layers)
}

/// [`load_layers`] on bytes already in memory; `path` names them in errors.
pub(crate) fn load_layers_from_bytes<T: Float>(
    bytes: &[u8],
    path: &Path,
    infos: &[LayerInfo],
    layers: &mut [&mut dyn Layer<T>],
) -> Result<TrainingState, Error> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::format(path, format!("not a valid safetensors file: {e}")))?;
    let mut expected = Vec::new();
    let mut staged: Vec<Vec<T>> = Vec::new();
    for (info, layer) in infos.iter().zip(layers.iter()) {
        let mut values = Vec::with_capacity(layer.weights().len());
        for spec in layer.weight_specs() {
            let name = tensor_name(info.name, spec.name);
            let tensor = file.tensor(&name).map_err(|_| {
                Error::format(
                    path,
                    format!(
                        "tensor `{name}` is missing (expected shape {:?})",
                        spec.shape
                    ),
                )
            })?;
            if tensor.dtype() != dtype::<T>() {
                return Err(Error::format(
                    path,
                    format!(
                        "tensor `{name}` has dtype {:?}, this model needs {}",
                        tensor.dtype(),
                        T::DTYPE
                    ),
                ));
            }
            if tensor.shape() != spec.shape.as_slice() {
                return Err(Error::format(
                    path,
                    format!(
                        "tensor `{name}` has shape {:?}, this model needs {:?}",
                        tensor.shape(),
                        spec.shape
                    ),
                ));
            }
            values.extend(
                tensor
                    .data()
                    .chunks_exact(std::mem::size_of::<T>())
                    .map(T::read_le),
            );
            expected.push(name);
        }
        staged.push(values);
    }
    let mut state = TrainingState::default();
    let mut names = file.names();
    names.sort();
    for name in names.iter().filter(|n| n.starts_with(STATE_PREFIX)) {
        let tensor = file
            .tensor(name)
            .map_err(|e| Error::format(path, format!("tensor `{name}`: {e}")))?;
        if tensor.dtype() != Dtype::F64 {
            return Err(Error::format(
                path,
                format!("training state `{name}` must be F64"),
            ));
        }
        let values = tensor.data().chunks_exact(8).map(f64::read_le).collect();
        state
            .arrays
            .push((name[STATE_PREFIX.len()..].to_string(), values));
    }
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::format(path, format!("not a valid safetensors file: {e}")))?;
    state.metadata = header
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let names: Vec<&str> = names
        .into_iter()
        .filter(|n| !n.starts_with(STATE_PREFIX))
        .collect();
    if let Some(extra) = names.iter().find(|n| !expected.iter().any(|e| e == *n)) {
        return Err(Error::format(
            path,
            format!("tensor `{extra}` does not belong to this model"),
        ));
    }
    for (layer, values) in layers.iter_mut().zip(staged) {
        layer.weights_mut().copy_from_slice(&values);
    }
    Ok(state)
}
