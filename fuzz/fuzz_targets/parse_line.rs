//! The line parser never panics, and it calls a line a record exactly when
//! serde_json reads it as one JSON object (within the 128 nesting limit).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/transcript/mod.rs"]
mod transcript;

fuzz_target!(|data: &[u8]| {
    let parsed = transcript::parse_line(data);
    // Lines never hold a newline (the reader splits on it).
    if data.contains(&b'\n') || transcript::is_blank(data) {
        return;
    }
    let is_object = matches!(
        serde_json::from_slice::<serde_json::Value>(data),
        Ok(serde_json::Value::Object(_))
    );
    let is_record = matches!(parsed, transcript::Parsed::Record(_));
    assert_eq!(is_record, is_object, "{:?}", String::from_utf8_lossy(data));
});
