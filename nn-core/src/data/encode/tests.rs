use super::*;

fn frame() -> DataFrame {
    let text = "species,island,mass,sex\nAdelie,Biscoe,3000,male\nGentoo,Dream,NA,female\nAdelie,Dream,5000,\nChinstrap,Biscoe,4000,female\n";
    DataFrame::parse_csv(text, &[], std::path::Path::new("<test>")).unwrap()
}

#[test]
fn strings_numbers_and_missing_cells_are_read_as_pandas_does() {
    let f = frame();
    assert_eq!(f.len(), 4);
    assert!(
        matches!(f.column("mass").unwrap(), Column::Numbers(v) if v[1].is_none() && v[2] == Some(5000.0))
    );
    assert!(matches!(f.column("sex").unwrap(), Column::Strings(v) if v[2].is_none()));
    assert_eq!(
        f.missing_counts(),
        [("species", 0), ("island", 0), ("mass", 1), ("sex", 1)]
    );
    assert!(f
        .column("beak")
        .unwrap_err()
        .to_string()
        .contains("species, island, mass, sex"));
    assert_eq!(f.dropna("mass").unwrap().len(), 3);
}

#[test]
fn imputers_fill_with_the_training_mean_median_or_most_frequent() {
    let f = frame();
    let fill = |s| match Imputer::fit(&f, "mass", s).unwrap().transform(&f).unwrap() {
        Column::Numbers(v) => v[1].unwrap(),
        _ => unreachable!(),
    };
    assert_eq!(fill(Impute::Mean), 4000.0);
    assert_eq!(fill(Impute::Median), 4000.0);
    let sex = Imputer::fit(&f, "sex", Impute::MostFrequent)
        .unwrap()
        .transform(&f)
        .unwrap();
    assert_eq!(
        sex,
        Column::Strings(
            ["male", "female", "female", "female"]
                .map(|s| Some(s.to_string()))
                .to_vec()
        )
    );
    assert!(Imputer::fit(&f, "sex", Impute::Mean).is_err());
}

#[test]
fn one_hot_and_label_encoders_refuse_or_ignore_the_unknown_as_asked() {
    let f = frame();
    let train = f.rows(&[0, 1, 2]);
    let test = f.rows(&[3]);
    let labels = LabelEncoder::fit(&train, "species").unwrap();
    assert_eq!(labels.classes(), ["Adelie", "Gentoo"]);
    assert_eq!(labels.transform(&train, "species").unwrap(), [0, 1, 0]);
    assert!(labels
        .transform(&test, "species")
        .unwrap_err()
        .to_string()
        .contains("`Chinstrap` is not a class"));

    let strict = ColumnTransformer::new()
        .numeric(["mass"], Some(Impute::Mean))
        .categorical(
            ["island", "sex"],
            Some(Impute::MostFrequent),
            Unknown::Error,
        )
        .fit(&f.rows(&[1, 2]))
        .unwrap();
    assert_eq!(
        strict.feature_names(),
        ["mass", "island=Dream", "sex=female"]
    );
    assert!(strict
        .transform::<f32, 3>(&test)
        .unwrap_err()
        .to_string()
        .contains("`Biscoe` is not a category"));
    let lenient = ColumnTransformer::new()
        .numeric(["mass"], Some(Impute::Median))
        .categorical(["island"], None, Unknown::Ignore)
        .fit(&train)
        .unwrap();
    let x: Vec<[f64; 3]> = lenient.transform(&f).unwrap();
    // Mass standardised on the training rows (3000, 5000, and 4000 imputed): mean 4000.
    assert_eq!(x[3], [0.0, 1.0, 0.0]);
    assert!(lenient
        .transform::<f64, 4>(&f)
        .unwrap_err()
        .to_string()
        .contains("make 3 features"));
}
