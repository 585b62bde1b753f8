//! Arbitrary bytes as a CSV file under several option sets: parsed or rejected, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use typed_nn::data::{parse_csv, CsvOptions, LabelColumn};

fuzz_target!(|data: &[u8]| {
    let origin = std::path::Path::new("fuzz.csv");
    for options in [
        CsvOptions::new(),
        CsvOptions::sklearn(),
        CsvOptions::new().label(LabelColumn::Named("y".into())),
        CsvOptions::new().label(LabelColumn::None).header(false),
        CsvOptions::new().label(LabelColumn::Index(2)).skip_lines(1),
    ] {
        if let Ok(table) = parse_csv(data, &options, origin) {
            assert!(table.features.iter().all(|row| row.len() == table.feature_names.len()));
            let _ = table.class_labels();
        }
    }
});
