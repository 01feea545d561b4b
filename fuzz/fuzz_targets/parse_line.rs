//! The line parser never panics, and it calls a line a record exactly when
//! serde_json reads it as one JSON object (within the 128 nesting limit),
//! once lone UTF-16 surrogate escapes are read as the text of the escape
//! (as the parser does); a number past f64's range, which serde_json
//! refuses and the parser reads as a too-large count, is not compared.
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
    let repaired = std::str::from_utf8(data)
        .ok()
        .and_then(transcript::without_lone_surrogates);
    let text = repaired.as_ref().map_or(data, |r| r.as_bytes());
    let value = serde_json::from_slice::<serde_json::Value>(text);
    if value
        .as_ref()
        .is_err_and(|e| e.to_string().starts_with("number out of range"))
    {
        return;
    }
    let is_object = matches!(value, Ok(serde_json::Value::Object(_)));
    let is_record = matches!(parsed, transcript::Parsed::Record(_));
    assert_eq!(is_record, is_object, "{:?}", String::from_utf8_lossy(data));
});
