//! The improvement test shared by `EarlyStopping`, `ReduceLROnPlateau` and `ModelCheckpoint`.

/// Whether a monitored value should go down or up (Keras's `mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MonitorMode {
    /// From the key: losses and errors go down, accuracies go up.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// A monitored log key with its best value so far.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub key: String,
    higher_is_better: bool,
    min_delta: f64,
    pub best: Option<f64>,
}

impl Monitor {
    pub fn new(key: &str, mode: MonitorMode, min_delta: f64) -> Self {
        let higher_is_better = match mode {
            MonitorMode::Min => false,
            MonitorMode::Max => true,
            MonitorMode::Auto => {
                let name = key.strip_prefix("val_").unwrap_or(key);
                name.contains("acc")
                    || name.contains("precision")
                    || name.contains("recall")
                    || name == "auc"
            }
        };
        Self {
            key: key.to_string(),
            higher_is_better,
            min_delta: min_delta.abs(),
            best: None,
        }
    }

    /// Keras's strict test: `cur < best - min_delta` (min) or `cur > best + min_delta` (max);
    /// no best yet always counts as an improvement.
    pub fn improves_on(&self, current: f64, reference: Option<f64>) -> bool {
        match reference {
            None => true,
            Some(best) if self.higher_is_better => current > best + self.min_delta,
            Some(best) => current < best - self.min_delta,
        }
    }

    pub fn improved(&self, current: f64) -> bool {
        self.improves_on(current, self.best)
    }

    /// The best value as Keras prints it: before any, the infinity it starts from.
    pub fn best_or_start(&self) -> f64 {
        match self.best {
            Some(best) => best,
            None if self.higher_is_better => f64::NEG_INFINITY,
            None => f64::INFINITY,
        }
    }

    /// The monitored value in `logs`, or a warning (as Keras) and `None`.
    pub fn read(&self, logs: &crate::train::Logs, who: &str) -> Option<f64> {
        let value = logs.get(&self.key).copied();
        if value.is_none() {
            let keys: Vec<&String> = logs.keys().collect();
            eprintln!(
                "warning: {who} monitors `{}`, which is not in the logs {keys:?}; skipping",
                self.key
            );
        }
        value
    }
}
