//! Random image augmentation for training (Keras's `ImageDataGenerator`): rotation, shifts,
//! zoom and horizontal flips, drawn afresh for every sample of every batch.

use rand::{Rng, RngCore};

use crate::Float;

/// Seeded random affine transforms of `H x W x C` images, applied to training batches by
/// `Fit::augment`. Defaults do nothing; each setting follows `ImageDataGenerator`:
/// uniform draws within the ranges, a transform about the image centre, bilinear
/// interpolation, and `fill_mode="nearest"` (points outside take the nearest edge value).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ImageAugmentation {
    rotation_degrees: f64,
    width_shift: f64,
    height_shift: f64,
    zoom: f64,
    horizontal_flip: bool,
}

impl ImageAugmentation {
    /// No transformation until ranges are set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Rotate by an angle drawn from `[-degrees, degrees]`.
    pub fn rotation_range(mut self, degrees: f64) -> Self {
        self.rotation_degrees = degrees;
        self
    }
    /// Shift horizontally by up to this fraction of the width.
    pub fn width_shift_range(mut self, fraction: f64) -> Self {
        self.width_shift = fraction;
        self
    }
    /// Shift vertically by up to this fraction of the height.
    pub fn height_shift_range(mut self, fraction: f64) -> Self {
        self.height_shift = fraction;
        self
    }
    /// Scale each axis by a factor drawn from `[1 - zoom, 1 + zoom]`.
    pub fn zoom_range(mut self, zoom: f64) -> Self {
        self.zoom = zoom;
        self
    }
    /// Mirror left-right with probability one half.
    pub fn horizontal_flip(mut self, flip: bool) -> Self {
        self.horizontal_flip = flip;
        self
    }

    /// Whether the settings can change an image.
    pub fn is_identity(&self) -> bool {
        *self == Self::default()
    }

    /// Transforms one `h x w x c` channels-last image in place, drawing from `rng`.
    pub fn apply<T: Float>(
        &self,
        image: &mut [T],
        (h, w, c): (usize, usize, usize),
        rng: &mut dyn RngCore,
    ) {
        if self.is_identity() {
            return;
        }
        let mut draw = |range: f64| {
            if range > 0.0 {
                rng.gen_range(-range..=range)
            } else {
                0.0
            }
        };
        let theta = draw(self.rotation_degrees).to_radians();
        let shift_y = draw(self.height_shift) * h as f64;
        let shift_x = draw(self.width_shift) * w as f64;
        let zoom_y = 1.0 + draw(self.zoom);
        let zoom_x = 1.0 + draw(self.zoom);
        let flip = self.horizontal_flip && rng.gen_bool(0.5);
        let (sin, cos) = theta.sin_cos();
        let (cy, cx) = ((h as f64 - 1.0) / 2.0, (w as f64 - 1.0) / 2.0);
        let source = image.to_vec();
        let at = |y: usize, x: usize, ch: usize| source[(y * w + x) * c + ch].as_f64();
        for i in 0..h {
            for j in 0..w {
                // Output -> input coordinates: zoom, shift, rotate about the centre.
                let (dy, dx) = (
                    (i as f64 - cy) * zoom_y + shift_y,
                    (j as f64 - cx) * zoom_x + shift_x,
                );
                let sy = (cos * dy - sin * dx + cy).clamp(0.0, (h - 1) as f64);
                let sx = (sin * dy + cos * dx + cx).clamp(0.0, (w - 1) as f64);
                let (y0, x0) = (sy.floor() as usize, sx.floor() as usize);
                let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
                let (fy, fx) = (sy - y0 as f64, sx - x0 as f64);
                let out_j = if flip { w - 1 - j } else { j };
                for ch in 0..c {
                    let top = at(y0, x0, ch) * (1.0 - fx) + at(y0, x1, ch) * fx;
                    let bottom = at(y1, x0, ch) * (1.0 - fx) + at(y1, x1, ch) * fx;
                    image[(i * w + out_j) * c + ch] = T::of(top * (1.0 - fy) + bottom * fy);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(4)
    }

    #[test]
    fn defaults_leave_images_alone_and_flips_mirror() {
        let mut img: Vec<f32> = (0..12).map(|v| v as f32).collect();
        ImageAugmentation::new().apply(&mut img, (3, 4, 1), &mut rng());
        assert_eq!(img, (0..12).map(|v| v as f32).collect::<Vec<_>>());
        // Draw until a flip happens; the result is the mirror image.
        let flip = ImageAugmentation::new().horizontal_flip(true);
        let mut r = rng();
        loop {
            let mut img: Vec<f32> = (0..12).map(|v| v as f32).collect();
            flip.apply(&mut img, (3, 4, 1), &mut r);
            if img[0] != 0.0 {
                assert_eq!(
                    img,
                    [3.0, 2.0, 1.0, 0.0, 7.0, 6.0, 5.0, 4.0, 11.0, 10.0, 9.0, 8.0]
                );
                break;
            }
        }
    }

    #[test]
    fn shifts_move_content_and_rotations_keep_values_in_range() {
        // A single bright pixel in the middle of a 9x9 image moves under shifts.
        let mut img = vec![0.0f64; 81];
        img[4 * 9 + 4] = 1.0;
        let aug = ImageAugmentation::new()
            .width_shift_range(0.3)
            .height_shift_range(0.3)
            .rotation_range(30.0)
            .zoom_range(0.1);
        let mut moved = 0;
        let mut r = rng();
        for _ in 0..20 {
            let mut x = img.clone();
            aug.apply(&mut x, (9, 9, 1), &mut r);
            assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
            if x[4 * 9 + 4] < 0.5 {
                moved += 1;
            }
        }
        assert!(moved > 10, "the pixel moved in {moved} of 20 draws");
    }
}
