//! Classic instance-selection baselines (filled in below).
