//! Classifies a handwritten digit with the MNIST example's model baked into the binary:
//! the weights (`examples/weights/mnist.safetensors`, made by `SAVE=... cargo run --release
//! --example mnist`) are checked against the chain and embedded at compile time, so the
//! binary reads no model file and `predict` allocates nothing.
//!
//! `cargo run --release --example classify -- examples/digits/7.pgm`
//!
//! Takes a 28x28 grayscale image as binary or ASCII PGM (P5/P2) or PNG (gray, RGB, RGBA; 8 or
//! 16 bit). MNIST digits are white on black; a black-on-white image is inverted first.

use std::path::Path;
use std::process::ExitCode;

use typed_nn::prelude::*;

model! {
    /// The README's MNIST model, with the weights trained by the `mnist` example.
    #[weights = "examples/weights/mnist.safetensors"]
    pub struct Mnist {
        Input<28, 28> => Flatten => Dense<300, Relu> => Dropout<0.5> => Dense<10, Softmax>
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: classify IMAGE (a 28x28 PGM or PNG)");
        return ExitCode::FAILURE;
    };
    match classify(Path::new(&path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn classify(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let (width, height, mut pixels) = if bytes.starts_with(b"\x89PNG") {
        decode_png(&bytes)?
    } else if bytes.starts_with(b"P5") || bytes.starts_with(b"P2") {
        decode_pgm(&bytes)?
    } else {
        return Err("not a PGM (P5/P2) or PNG image".into());
    };
    if (width, height) != (28, 28) {
        return Err(format!(
            "the model takes 28x28 images, this one is {width}x{height}"
        ));
    }
    // MNIST is white ink on black: invert images whose border is mostly bright.
    let border: Vec<f32> = (0..28)
        .flat_map(|i| {
            [
                pixels[i],
                pixels[27 * 28 + i],
                pixels[i * 28],
                pixels[i * 28 + 27],
            ]
        })
        .collect();
    if border.iter().sum::<f32>() / border.len() as f32 > 0.5 {
        pixels.iter_mut().for_each(|p| *p = 1.0 - *p);
        println!("(inverted: dark digit on a light background)");
    }
    let mut image = [[0.0f32; 28]; 28];
    image.as_flattened_mut().copy_from_slice(&pixels);
    let net = Mnist::baked();
    let probabilities = net.predict(&image);
    let digit = typed_nn::metrics::argmax(&probabilities);
    println!(
        "predicted digit: {digit} (probability {:.4})",
        probabilities[digit]
    );
    Ok(())
}

/// Netpbm graymap: magic, width, height, maxval (comments allowed), then binary or ASCII samples.
fn decode_pgm(bytes: &[u8]) -> Result<(usize, usize, Vec<f32>), String> {
    let binary = bytes.starts_with(b"P5");
    let mut pos = 2;
    let mut header = [0usize; 3];
    for value in header.iter_mut() {
        loop {
            while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            if bytes.get(pos) == Some(&b'#') {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                break;
            }
        }
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        *value = std::str::from_utf8(&bytes[start..pos])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("malformed PGM header")?;
    }
    let [width, height, maxval] = header;
    if maxval == 0 || maxval > 65535 {
        return Err(format!("PGM maxval {maxval} is out of range"));
    }
    let count = width.checked_mul(height).ok_or("PGM size overflows")?;
    let samples: Vec<f32> = if binary {
        let data = &bytes[(pos + 1).min(bytes.len())..];
        let per = if maxval < 256 { 1 } else { 2 };
        if data.len() < count * per {
            return Err(format!(
                "truncated PGM: {count} pixels need {} bytes, found {}",
                count * per,
                data.len()
            ));
        }
        data.chunks_exact(per)
            .take(count)
            .map(|c| {
                if per == 1 {
                    c[0] as f32
                } else {
                    u16::from_be_bytes([c[0], c[1]]) as f32
                }
            })
            .collect()
    } else {
        let text = std::str::from_utf8(&bytes[pos..]).map_err(|_| "ASCII PGM is not text")?;
        let values: Result<Vec<f32>, _> = text
            .split_ascii_whitespace()
            .take(count)
            .map(|v| v.parse::<f32>())
            .collect();
        let values = values.map_err(|_| "ASCII PGM has a non-numeric sample")?;
        if values.len() < count {
            return Err(format!(
                "truncated PGM: {count} pixels, found {}",
                values.len()
            ));
        }
        values
    };
    Ok((
        width,
        height,
        samples
            .iter()
            .map(|&v| (v / maxval as f32).clamp(0.0, 1.0))
            .collect(),
    ))
}

/// PNG via the `png` crate, reduced to gray in [0, 1].
fn decode_png(bytes: &[u8]) -> Result<(usize, usize, Vec<f32>), String> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| format!("bad PNG: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("bad PNG: {e}"))?;
    let channels = info.color_type.samples();
    let wide = info.bit_depth == png::BitDepth::Sixteen;
    let sample = |i: usize| -> f32 {
        if wide {
            u16::from_be_bytes([buf[2 * i], buf[2 * i + 1]]) as f32 / 65535.0
        } else {
            buf[i] as f32 / 255.0
        }
    };
    let (width, height) = (info.width as usize, info.height as usize);
    let gray = (0..width * height)
        .map(|p| {
            let colour = channels.min(3);
            let mean =
                (0..colour).map(|c| sample(p * channels + c)).sum::<f32>() / colour.max(1) as f32;
            // Treat transparency as background.
            if channels == 2 || channels == 4 {
                mean * sample(p * channels + channels - 1)
            } else {
                mean
            }
        })
        .collect();
    Ok((width, height, gray))
}
