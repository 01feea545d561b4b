use super::*;

fn record(line: &str) -> Record {
    match parse_line(line.as_bytes()) {
        Parsed::Record(r) => *r,
        other => panic!("expected a record for {line:?}, got {other:?}"),
    }
}

fn malformed(bytes: &[u8]) -> String {
    match parse_line(bytes) {
        Parsed::Malformed(e) => e,
        other => panic!(
            "expected malformed for {:?}, got {other:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

fn nested(depth: usize) -> String {
    format!(
        r#"{{"type":"user","x":{}1{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[test]
fn classification_table() {
    // blank: only spaces, \t, \r, \v, \f
    for b in [&b""[..], b"   ", b"\t\r", b"\x0b\x0c ", b"\r"] {
        assert!(matches!(parse_line(b), Parsed::Blank), "{b:?}");
    }
    // malformed kinds, each with a reason
    let cases: &[&[u8]] = &[
        b"{\"type\":\"user\"",                     // truncated
        b"{\"type\":\"user\"}{\"type\":\"user\"}", // spliced }{
        b"\0\0\0\0{\"type\":\"user\"}",            // NUL run before a record
        b"{\"type\":\"us\xffer\"}",                // invalid UTF-8
        b"[1,2,3]",                                // not an object
        b"\"just a string\"",                      // not an object
        b"42",                                     // not an object
        b"null",                                   // not an object
        b"{\"type\":\"user\"} trailing",           // more than one value
        b"\x0b{\"type\":\"user\"}",                // \v is not JSON whitespace
    ];
    for c in cases {
        let e = malformed(c);
        assert!(!e.is_empty());
    }
    assert!(malformed(b"[1]").contains("not a JSON object"));
    // serde_json's words, with the column and what it most likely is
    assert_eq!(
        malformed(b"{\"type\":\"user\""),
        "not valid JSON: EOF while parsing an object at byte 13 of the line; the line ends before the JSON does (cut short?)"
    );
    assert_eq!(
        malformed(b"{\"type\":\"user\"}{\"type\":\"user\"}"),
        "not valid JSON: trailing characters at byte 15 of the line; more follows the JSON object (two on one line?)"
    );
    assert_eq!(
        malformed(b"{nope}"),
        "not valid JSON: key must be a string at byte 1 of the line"
    );
    assert_eq!(
        malformed(b"hello"),
        "not valid JSON: expected value at byte 0 of the line"
    );
    assert!(malformed(b"{\"a\":\xc3}").contains("UTF-8"));
    // a byte-order mark is named (an editor saved the file with one)
    let bom = malformed("\u{feff}{\"type\":\"user\"}".as_bytes());
    assert!(bom.contains("starts with a UTF-8 byte-order mark"), "{bom}");
    // ... and read past at the start of a file, with a warning
    let line = "\u{feff}{\"type\":\"user\"}".as_bytes();
    let Parsed::Record(r) = parse_line_at(line, 0) else {
        panic!("a file's first line after its byte-order mark is a record")
    };
    assert_eq!(r.line_type, "user");
    assert!(
        r.warnings.iter().any(|w| w.contains("byte-order mark")),
        "{:?}",
        r.warnings
    );
    assert!(matches!(parse_line_at(line, 120), Parsed::Malformed(_)));
    // ... and the mark alone on the first line (or with blanks) is a line
    // that holds no record, not a blank one: a malformed line that says so
    // (it was counted nowhere, and said nowhere: tour-s33a F1)
    for first in [&b"\xef\xbb\xbf"[..], b"\xef\xbb\xbf   \r"] {
        let Parsed::Malformed(why) = parse_line_at(first, 0) else {
            panic!("{first:?}: not malformed")
        };
        assert!(
            why.contains("byte-order mark") && why.contains("nothing else"),
            "{why}"
        );
    }
    // CRLF line ends are fine
    assert_eq!(record("{\"type\":\"user\"}\r").line_type, "user");
}

#[test]
fn nesting_deeper_than_128_is_malformed() {
    assert_eq!(record(&nested(100)).line_type, "user");
    let e = malformed(nested(200).as_bytes());
    assert!(e.contains("recursion"), "{e}");
    let e = malformed(nested(10_000).as_bytes());
    assert!(e.contains("recursion"), "{e}");
    // the same limit as serde_json's own, at the edge, objects and strings too
    for depth in 120..135 {
        for line in [
            nested(depth),
            format!(
                r#"{{"type":"x","s":"[[[[{{","a":{}{}}}"#,
                r#"{"a":"#.repeat(depth),
                "}".repeat(depth)
            ),
        ] {
            let serde_ok = serde_json::from_str::<serde_json::Value>(&line).is_ok();
            let ours_ok = matches!(parse_line(line.as_bytes()), Parsed::Record(_));
            assert_eq!(ours_ok, serde_ok, "depth {depth}: {line}");
        }
    }
}

#[test]
fn odd_field_types_make_a_record_with_warnings_not_a_malformed_line() {
    let r = record(
        r#"{"type":"assistant","uuid":7,"timestamp":false,"isSidechain":"yes","message":{"id":"msg_1","model":"claude-opus-4-6","usage":{"input_tokens":"12","output_tokens":-5,"cache_read_input_tokens":3.9,"cache_creation_input_tokens":2000000000000}}}"#,
    );
    assert_eq!(r.line_type, "assistant");
    assert!(r.env.uuid.is_none());
    assert!(r.env.timestamp_ms.is_none());
    let u = r.message().unwrap().usage.unwrap();
    assert_eq!(u.input_tokens, 0, "a string token count counts as 0");
    assert_eq!(u.output_tokens, 0, "a negative count counts as 0");
    assert_eq!(u.cache_read_tokens, 3, "fractions are truncated");
    assert_eq!(
        u.cache_creation_5m_tokens, 2_000_000_000_000,
        "absurd counts are kept"
    );
    let w = r.warnings.join("\n");
    for needle in [
        "`uuid`",
        "`timestamp`",
        "`isSidechain`",
        "usage.input_tokens",
        "over 10^12",
    ] {
        assert!(w.contains(needle), "missing warning {needle} in {w}");
    }
}

/// A key given twice in one object (any object of the line) is read as
/// JavaScript's JSON.parse reads it, the last one: the line was a record
/// with none of its fields read (its response, tokens and session gone).
#[test]
fn a_key_given_twice_is_read_as_its_last_value() {
    let r = record(
        r#"{"type":"assistant","uuid":"d2","uuid":"d3","sessionId":"s-dup","timestamp":"2026-03-01T10:00:01Z","message":{"id":"m2","model":"claude-sonnet-4-5-20250929","role":"assistant","usage":{"input_tokens":5,"input_tokens":7000,"output_tokens":1}}}"#,
    );
    assert_eq!(r.env.uuid.as_deref(), Some("d3"));
    assert_eq!(r.env.session_id.as_deref(), Some("s-dup"));
    let m = r.message().unwrap();
    assert_eq!(m.message_id.as_deref(), Some("m2"));
    assert_eq!(m.usage.unwrap().input_tokens, 7000);
    let w = r.warnings.join("\n");
    assert!(
        w.contains("a key given twice") && w.contains("duplicate field `uuid`"),
        "{w}"
    );
}

#[test]
fn token_counts_past_10_to_the_15_count_as_zero() {
    let r = record(
        r#"{"type":"assistant","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":18446744073709551615,"output_tokens":1e30,"cache_creation_input_tokens":1000000000000001,"cache_read_input_tokens":1000000000000000}}}"#,
    );
    let u = r.message().unwrap().usage.unwrap();
    let zeroed = (u.input_tokens, u.output_tokens, u.cache_creation_5m_tokens);
    assert_eq!(zeroed, (0, 0, 0));
    assert_eq!(u.cache_read_tokens, 1_000_000_000_000_000, "10^15 is kept");
    let w = r.warnings.join("\n");
    let zero = "over 10^15, not a token count; counted as 0";
    assert_eq!(w.matches(zero).count(), 3, "{w}");
    let kept = "cache_read_input_tokens` is 1000000000000000, over 10^12; kept";
    assert!(w.contains(kept), "{w}");
    // (said as written, not as the u64 a float past it saturated to)
    assert!(
        w.contains("`usage.output_tokens` is 1e30, over 10^15"),
        "{w}"
    );
    let r = record(
        r#"{"type":"assistant","message":{"id":"m","model":"m","usage":{"input_tokens":99999999999999999999999}}}"#,
    );
    let w = r.warnings.join("\n");
    assert!(
        w.contains("`usage.input_tokens` is 1e23, over 10^15"),
        "{w}"
    );
}

#[test]
fn negative_and_fractional_token_counts_are_said() {
    let r = record(
        r#"{"type":"assistant","message":{"id":"m","model":"claude-sonnet-4-5","usage":{"input_tokens":12.0,"output_tokens":-5,"cache_read_input_tokens":12.7,"cache_creation_input_tokens":-0.5}}}"#,
    );
    let u = r.message().unwrap().usage.unwrap();
    let counts = (u.input_tokens, u.output_tokens, u.cache_read_tokens);
    assert_eq!(counts, (12, 0, 12));
    assert_eq!(u.cache_creation_5m_tokens, 0);
    let w = r.warnings.join("\n");
    assert!(
        w.contains("`usage.output_tokens` is -5, below 0; counted as 0"),
        "{w}"
    );
    assert!(
        w.contains("`usage.cache_read_input_tokens` is 12.7, not a whole number; counted as 12"),
        "{w}"
    );
    assert!(w.contains("is -0.5, below 0; counted as 0"), "{w}");
    assert!(
        !w.contains("input_tokens` is 12,"),
        "a whole float is a count: {w}"
    );
}

#[test]
fn message_and_usage_that_are_not_objects() {
    let r = record(r#"{"type":"assistant","message":"oops"}"#);
    let m = r.message().unwrap();
    assert!(m.usage.is_none());
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("`message` is not an object"))
    );
    let r = record(r#"{"type":"assistant","message":{"id":"m","usage":[1,2]}}"#);
    assert!(r.message().unwrap().usage.is_none());
    assert!(r.warnings.iter().any(|w| w.contains("usage")));
    // numeric-key message objects (a known corruption) are still records
    let r = record(r#"{"type":"user","message":{"0":"a","1":"b"}}"#);
    assert_eq!(r.line_type, "user");
}

#[test]
fn missing_or_non_string_type_counts_under_none() {
    assert_eq!(record(r#"{"uuid":"x"}"#).line_type, NO_TYPE);
    let r = record(r#"{"type":5}"#);
    assert_eq!(r.line_type, NO_TYPE);
    assert!(!r.known);
    assert!(!record(r#"{"type":"brand-new-thing"}"#).known);
}

#[test]
fn cache_creation_split_rules() {
    let usage = |u: &str| {
        record(&format!(
            r#"{{"type":"assistant","message":{{"id":"m","usage":{u}}}}}"#
        ))
        .message()
        .unwrap()
        .usage
        .unwrap()
    };
    // split present: it wins over the total
    let u = usage(
        r#"{"cache_creation_input_tokens":100,"cache_creation":{"ephemeral_5m_input_tokens":30,"ephemeral_1h_input_tokens":70}}"#,
    );
    assert_eq!(
        (u.cache_creation_5m_tokens, u.cache_creation_1h_tokens),
        (30, 70)
    );
    // split with one key missing: that one is 0, the total is ignored
    let u = usage(
        r#"{"cache_creation_input_tokens":100,"cache_creation":{"ephemeral_1h_input_tokens":70}}"#,
    );
    assert_eq!(
        (u.cache_creation_5m_tokens, u.cache_creation_1h_tokens),
        (0, 70)
    );
    // empty object, one with no number in the split, null, or absent: all
    // of the total is 5m
    for cc in [
        r#","cache_creation":{}"#,
        r#","cache_creation":{"ephemeral_5m_input_tokens":null,"ephemeral_1h_input_tokens":null}"#,
        r#","cache_creation":{"cache_miss_reason":"x"}"#,
        r#","cache_creation":null"#,
        "",
    ] {
        let u = usage(&format!(r#"{{"cache_creation_input_tokens":100{cc}}}"#));
        assert_eq!(
            (u.cache_creation_5m_tokens, u.cache_creation_1h_tokens),
            (100, 0),
            "{cc}"
        );
    }
    let u = usage(
        r#"{"speed":"fast","inference_geo":"us","server_tool_use":{"web_search_requests":2,"web_fetch_requests":1}}"#,
    );
    assert!(u.fast && u.us_only);
    assert_eq!((u.web_search_requests, u.web_fetch_requests), (2, 1));
    let u = usage(r#"{"speed":"standard","inference_geo":"not_available"}"#);
    assert!(!u.fast && !u.us_only);
}

#[test]
fn blocks_and_tool_inputs() {
    let r = record(
        r#"{"type":"assistant","message":{"id":"m","content":[{"type":"thinking","thinking":"hmm","signature":"s"},{"type":"tool_use","id":"toolu_1","name":"Edit","input":{"file_path":"/a/b.rs","old_string":"x"}},{"type":"tool_use","id":"toolu_2","name":"Bash","input":{"command":"ls -la","description":"list"}}]}}"#,
    );
    let m = r.message().unwrap();
    assert_eq!(m.blocks.len(), 3);
    assert_eq!(m.blocks[0].kind, "thinking");
    assert_eq!(m.blocks[0].text_bytes, 3);
    assert_eq!(m.blocks[1].file_path.as_deref(), Some("/a/b.rs"));
    assert_eq!(m.blocks[2].input_summary.as_deref(), Some("ls -la"));
    assert_eq!(m.blocks[2].file_path, None, "Bash touches no file");
    let r = record(
        r#"{"type":"user","toolUseResult":{"agentId":"a12","status":"completed"},"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_9","content":[{"type":"text","text":"done"}],"is_error":true}]}}"#,
    );
    let m = r.message().unwrap();
    assert_eq!(m.blocks[0].tool_use_id.as_deref(), Some("toolu_9"));
    assert_eq!(m.blocks[0].is_error, Some(true));
    assert_eq!(m.result_agent_id.as_deref(), Some("a12"));
    // a string toolUseResult (a failed tool) is a normal shape
    let r = record(
        r#"{"type":"user","toolUseResult":"Error: boom","message":{"role":"user","content":"hi"}}"#,
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.message().unwrap().text_preview.as_deref(), Some("hi"));
}

#[test]
fn a_block_field_of_the_wrong_type_is_said() {
    let r = record(
        r#"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","tool_use_id":"toolu_1","content":"boom","is_error":"yes"}]}}"#,
    );
    assert_eq!(r.message().unwrap().blocks[1].is_error, None);
    assert_eq!(
        r.warnings,
        ["`message.content[1].is_error` is not a boolean"],
        "{:?}",
        r.warnings
    );
}

#[test]
fn timestamps() {
    assert_eq!(
        parse_timestamp("2026-02-05T00:00:00.000Z"),
        Some(1_770_249_600_000)
    );
    assert_eq!(
        parse_timestamp("2026-02-05T00:00:00.123456Z"),
        Some(1_770_249_600_123)
    );
    assert_eq!(
        parse_timestamp("2026-02-05T01:00:00+01:00"),
        Some(1_770_249_600_000)
    );
    assert_eq!(
        parse_timestamp("2026-02-05T00:00:00"),
        Some(1_770_249_600_000)
    );
    assert_eq!(parse_timestamp("yesterday"), None);
    // a line's time before 1970 is no time, said (days and 15-minute
    // buckets are counted from 1970; bucket -1 means "no time"); nor from
    // the year 9000 (a block after it would end past 9999, which RFC 3339
    // cannot write: `blocks --json` said "+10000-01-01T...")
    for (t, at, said) in [
        ("1969-12-31T23:50:00.000Z", None, "before 1970"),
        ("1970-01-01T00:00:00.000Z", Some(0), "before 1970"),
        (
            "8999-12-31T23:59:59.999Z",
            Some(221_845_391_999_999),
            "in the year 9000 or later",
        ),
        (
            "9999-12-31T23:30:00.000Z",
            None,
            "in the year 9000 or later",
        ),
    ] {
        let r = record(&format!(
            r#"{{"type":"user","timestamp":"{t}","message":{{"role":"user","content":"hi"}}}}"#
        ));
        assert_eq!(r.env.timestamp_ms, at, "{t}");
        assert_eq!(
            r.warnings.iter().any(|w| w.contains(said)),
            at.is_none(),
            "{t}: {:?}",
            r.warnings
        );
    }
    // a time with no zone is UTC; forms RFC 3339 does not allow are no time,
    // said as such (the warning said "not an ISO-8601 time", which they are)
    for (t, at) in [
        ("2026-06-10T12:00:00", Some(1_781_092_800_000)),
        ("2026-06-10T12:00:00+0200", None),
        ("2026-06-10", None),
    ] {
        let r = record(&format!(
            r#"{{"type":"user","timestamp":"{t}","message":{{"role":"user","content":"hi"}}}}"#
        ));
        assert_eq!(r.env.timestamp_ms, at, "{t}");
        assert_eq!(
            r.warnings
                .iter()
                .any(|w| w.contains("is not an RFC 3339 time (such as 2026-03-01T10:00:00.000Z)")),
            at.is_none(),
            "{t}: {:?}",
            r.warnings
        );
    }
}

#[test]
fn system_progress_attachment_queue_and_metadata() {
    let r = record(
        r#"{"type":"system","subtype":"compact_boundary","parentUuid":null,"logicalParentUuid":"p1","compactMetadata":{"trigger":"auto","preTokens":155000},"uuid":"s1","sessionId":"S","timestamp":"2026-01-01T00:00:00Z"}"#,
    );
    match &r.body {
        Body::System(s) => {
            assert_eq!(s.compact_trigger.as_deref(), Some("auto"));
            assert_eq!(s.compact_pre_tokens, Some(155_000));
        }
        b => panic!("{b:?}"),
    }
    assert_eq!(r.env.logical_parent_uuid.as_deref(), Some("p1"));
    let r = record(
        r#"{"type":"progress","data":{"type":"hook_progress","hookEvent":"PostToolUse","hookName":"PostToolUse:Bash","command":"callback"},"toolUseID":"toolu_1","parentToolUseID":"toolu_1","uuid":"p"}"#,
    );
    match &r.body {
        Body::Progress(p) => assert_eq!(p.hook_name.as_deref(), Some("PostToolUse:Bash")),
        b => panic!("{b:?}"),
    }
    let r = record(
        r#"{"type":"attachment","attachment":{"type":"hook_blocking_error","hookName":"PreToolUse:Bash","hookEvent":"PreToolUse","blockingError":{"blockingError":"denied: rm -rf","command":"guard.sh"}},"uuid":"a"}"#,
    );
    match &r.body {
        Body::Attachment(a) => {
            assert_eq!(a.output_preview.as_deref(), Some("denied: rm -rf"));
            assert_eq!(a.command.as_deref(), Some("guard.sh"));
        }
        b => panic!("{b:?}"),
    }
    let r = record(
        r#"{"type":"queue-operation","operation":"popAll","content":[{"type":"text","text":"later"}],"sessionId":"S"}"#,
    );
    match &r.body {
        Body::Queue {
            operation,
            content_preview,
            ..
        } => {
            assert_eq!(operation, "popAll");
            assert_eq!(content_preview.as_deref(), Some("later"));
        }
        b => panic!("{b:?}"),
    }
    let r = record(r#"{"type":"custom-title","customTitle":"My work","sessionId":"S"}"#);
    assert!(matches!(&r.body, Body::Meta { value: Some(v) } if v == "My work"));
}

#[test]
fn previews_are_cut_on_char_boundaries() {
    let long = "é".repeat(500);
    let p = preview(&long);
    assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
    assert!(p.ends_with('…'));
}

#[test]
fn lone_surrogate_escapes_are_read_as_replacement_characters() {
    let line = |text: &str| {
        format!(
            r#"{{"type":"assistant","uuid":"a1","message":{{"id":"m1","model":"claude-sonnet-4-5","content":[{{"type":"text","text":"{text}"}}],"usage":{{"input_tokens":1000000,"output_tokens":100}}}}}}"#
        )
    };
    // a high surrogate cut from its pair (what JavaScript writes for
    // "😀".slice(0, 1)), one before another escape, a low one alone, and
    // two at the very end of a string
    for text in [
        r"cut \ud83d here",
        r"\uD83D\n",
        r"x\ude00y",
        r"\ud83d\ud83d",
    ] {
        let r = record(&line(text));
        let u = r.message().unwrap().usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.output_tokens),
            (1_000_000, 100),
            "{text}"
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("surrogate")),
            "{text}: {:?}",
            r.warnings
        );
    }
    // a proper pair and an escaped backslash before "ud83d" are left alone
    assert_eq!(without_lone_surrogates(r#"{"t":"\ud83d\ude00"}"#), None);
    assert_eq!(without_lone_surrogates(r#"{"t":"\\ud83d"}"#), None);
    assert_eq!(
        without_lone_surrogates(r#"{"t":"a\ud83db\\ud83d"}"#).as_deref(),
        Some(r#"{"t":"a\\ud83db\\ud83d"}"#)
    );
    // two ids cut differently stay two ids
    let id = |cut: &str| {
        let r = record(&format!(
            r#"{{"type":"assistant","uuid":"a1","message":{{"id":"msg_{cut}","model":"m"}}}}"#
        ));
        r.message().unwrap().message_id.clone()
    };
    assert_ne!(id(r"\ud83d"), id(r"\ud83e"));
    assert_eq!(id(r"\ud83d").as_deref(), Some(r"msg_\ud83d"));
    let r = record(&line(r"\ud83d\ude00 fine"));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // still malformed when something else is wrong too
    malformed(br#"{"type":"user","t":"\ud83d"#);
}

/// A prompt sent from an IDE, or with a reminder, has that context as
/// blocks before what the user typed: the preview (a session's title, the
/// prompt `show` lists) is the typed text; context alone is still shown.
#[test]
fn a_prompts_preview_skips_the_context_claude_code_adds() {
    let preview = |content: &str| {
        let r = record(&format!(
            r#"{{"type":"user","message":{{"role":"user","content":{content}}}}}"#
        ));
        r.message().unwrap().text_preview.clone()
    };
    assert_eq!(
        preview(
            r#"[{"type":"text","text":"<ide_opened_file>The user opened the file /a/b.rs in the IDE.</ide_opened_file>"},{"type":"text","text":"fix the parser"}]"#
        )
        .as_deref(),
        Some("fix the parser")
    );
    assert_eq!(
        preview(
            r#"[{"type":"text","text":" <system-reminder>x</system-reminder>"},{"type":"text","text":"<ide_selection>y</ide_selection>"},{"type":"text","text":"and now?"},{"type":"text","text":"more"}]"#
        )
        .as_deref(),
        Some("and now?")
    );
    assert_eq!(
        preview(r#"[{"type":"text","text":"<ide_selection>fn main() {}</ide_selection>"}]"#)
            .as_deref(),
        Some("<ide_selection>fn main() {}</ide_selection>")
    );
    assert_eq!(
        preview(r#""<ide_opened_file>typed as a string""#).as_deref(),
        Some("<ide_opened_file>typed as a string")
    );
}

/// A line cut anywhere (a transcript still being written, or a line broken
/// inside a string) is read or called malformed, never a panic: every byte
/// prefix of every fixture line, each also with a `\` after it (a cut
/// right after an escape's backslash), and a few made by hand. Each is a
/// record exactly when serde_json reads it as a JSON object (once lone
/// surrogate escapes are read as text, as the parser does), as the fuzz
/// target checks.
#[test]
fn every_cut_of_a_line_parses_without_panicking() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut lines: Vec<Vec<u8>> = vec![
        br#"{"type":"user","message":{"content":"line one\n line two \"#.to_vec(),
        br#"{"t":"\ud83d\"#.to_vec(),
        br#"{"t":"\u"#.to_vec(),
        br"\".to_vec(),
    ];
    for e in walkdir::WalkDir::new(&root) {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "jsonl") {
            let text = std::fs::read(e.path()).unwrap();
            lines.extend(text.split(|b| *b == b'\n').map(<[u8]>::to_vec));
        }
    }
    assert!(lines.len() > 100, "fixture lines: {}", lines.len());
    let (mut records, mut malformed) = (0, 0);
    let mut check = |p: &[u8]| {
        let parsed = parse_line(p);
        if is_blank(p) {
            return;
        }
        let repaired = std::str::from_utf8(p)
            .ok()
            .and_then(without_lone_surrogates);
        let text = repaired.as_ref().map_or(p, |r| r.as_bytes());
        let is_object = matches!(
            serde_json::from_slice::<serde_json::Value>(text),
            Ok(serde_json::Value::Object(_))
        );
        let is_record = matches!(parsed, Parsed::Record(_));
        assert_eq!(is_record, is_object, "{:?}", String::from_utf8_lossy(p));
        if is_record {
            records += 1;
        } else {
            malformed += 1;
        }
    };
    for line in &lines {
        for cut in 0..=line.len() {
            let mut prefix = line[..cut].to_vec();
            check(&prefix);
            prefix.push(b'\\');
            check(&prefix);
        }
    }
    // (the whole lines are records, nearly every cut is not)
    assert!(
        records > 100 && malformed > 10_000,
        "{records} records, {malformed} malformed"
    );
}

/// A 5m/1h split that disagrees with `cache_creation_input_tokens` is
/// counted as split, and said; one that agrees (every real line) is quiet.
#[test]
fn a_cache_write_total_that_disagrees_with_its_split_is_said() {
    let line = |total: u64, m5: u64, h1: u64| {
        record(&format!(
            r#"{{"type":"assistant","message":{{"id":"m","model":"claude-sonnet-4-5","usage":{{"input_tokens":1,"cache_creation_input_tokens":{total},"cache_creation":{{"ephemeral_5m_input_tokens":{m5},"ephemeral_1h_input_tokens":{h1}}}}}}}}}"#
        ))
    };
    let r = line(3000, 1000, 2000);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let r = line(5000, 0, 0);
    let u = r.message().unwrap().usage.unwrap();
    assert_eq!(
        (u.cache_creation_5m_tokens, u.cache_creation_1h_tokens),
        (0, 0)
    );
    assert!(
        r.warnings.iter().any(|w| w.contains(
            "`usage.cache_creation_input_tokens` is 5000, but `usage.cache_creation` splits 0"
        )),
        "{:?}",
        r.warnings
    );
}

/// A file that is no UTF-8 text (an editor's UTF-16, a gzip named
/// `.jsonl`) is malformed line by line, and each line says what the file
/// looks like and what to do (it said only "invalid UTF-8 at byte 0" or
/// "key must be a string").
#[test]
fn lines_of_utf16_or_compressed_files_say_what_they_look_like() {
    let utf16: Vec<u8> = "{\"type\":\"user\"}"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let with_bom = [&[0xff, 0xfe][..], &utf16].concat();
    let gzip = [0x1f, 0x8b, 0x08, 0x00, 0x12, 0x34];
    for (bytes, says) in [
        (&utf16[..], "looks like UTF-16"),
        (&with_bom[..], "looks like UTF-16"),
        (&gzip[..], "looks gzip-compressed"),
    ] {
        match parse_line(bytes) {
            Parsed::Malformed(why) => assert!(why.contains(says), "{why}"),
            other => panic!("{other:?}"),
        }
    }
    // a file whose lines end in a bare CR (old Mac line ends) is one line,
    // said so (it said only "two on one line?"); two objects on one line
    // are still that
    match parse_line(b"{\"type\":\"user\"}\r{\"type\":\"user\"}\r") {
        Parsed::Malformed(why) => assert!(
            why.contains("a bare CR (\\r) parts JSON objects here")
                && why.contains("tr '\\r' '\\n'"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    match parse_line(b"{\"type\":\"user\"}{\"type\":\"user\"}") {
        Parsed::Malformed(why) => assert!(
            why.contains("two on one line?") && !why.contains("bare CR"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    // (a line cut short, a NUL run a crash left before a record: not these)
    for line in [
        &b"{\"type\":\"user\""[..],
        b"\0\0\0\0\0\0{\"type\":\"user\"}",
    ] {
        match parse_line(line) {
            Parsed::Malformed(why) => assert!(!why.contains("looks"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}

/// `whole_text` reads a prompt's line as `parse_line` does, so that its
/// text is the preview's, whole: a lone surrogate as its escape's text, a
/// key given twice as the last one.
#[test]
fn whole_text_is_the_preview_whole() {
    let long = "word ".repeat(60);
    for line in [
        format!(r#"{{"type":"user","message":{{"role":"user","content":"{long}"}}}}"#),
        format!(r#"{{"type":"user","message":{{"role":"user","content":"cut \ud83d {long}"}}}}"#),
        format!(
            r#"{{"type":"user","uuid":"a","uuid":"b","message":{{"role":"user","content":[{{"type":"text","text":"<system-reminder>x</system-reminder>"}},{{"type":"text","text":"{long}"}}]}}}}"#
        ),
    ] {
        let preview = record(&line)
            .message()
            .unwrap()
            .text_preview
            .clone()
            .unwrap();
        let whole = whole_text(line.as_bytes()).unwrap_or_else(|| panic!("{line}"));
        assert!(whole.len() > preview.len(), "{whole}");
        assert!(
            whole.starts_with(preview.trim_end_matches('…')),
            "{whole} / {preview}"
        );
    }
    // a system line's text, where its `content_preview` is cut
    let line = format!(
        r#"{{"type":"system","subtype":"local_command","content":"<command-message>{long}</command-message>"}}"#
    );
    let Body::System(s) = &record(&line).body else {
        panic!("{line}");
    };
    let preview = s.content_preview.clone().unwrap();
    let whole = whole_text(line.as_bytes()).unwrap();
    assert!(preview.ends_with('…') && whole.ends_with("</command-message>"));
    assert!(whole.starts_with(preview.trim_end_matches('…')));
}

#[test]
fn claude_code_notes_are_known_with_or_without_attributes() {
    for note in [
        "[Request interrupted by user for tool use]",
        "<local-command-stdout>ok</local-command-stdout>",
        "  <task-notification><task-id>t1</task-id></task-notification>",
        "<teammate-message>hi</teammate-message>",
        // as agent teams write it (transcript-format.md §4.1)
        "<teammate-message teammate_id=\"alice\" color=\"blue\">\nDone.\n</teammate-message>",
        "<teammate-message\tteammate_id=\"system\">x</teammate-message>",
    ] {
        assert!(is_claude_code_note(note), "{note:?}");
    }
    for prompt in [
        "why does <teammate-message> show up here?",
        "<teammate-messages>not the tag</teammate-messages>",
        "<teammate-message-log>",
        "fix the parser",
    ] {
        assert!(!is_claude_code_note(prompt), "{prompt:?}");
    }
}

#[test]
fn tools_without_a_path_or_command_are_summarised_too() {
    let summary = |name: &str, input: &str| -> Option<String> {
        let r = record(&format!(
            r#"{{"type":"assistant","message":{{"id":"m","content":[{{"type":"tool_use","id":"toolu_1","name":"{name}","input":{input}}}]}}}}"#
        ));
        r.message().unwrap().blocks[0].input_summary.clone()
    };
    let s = |v: &str| Some(v.to_owned());
    // (shapes as Claude Code writes them: the public corpus)
    assert_eq!(
        summary(
            "TodoWrite",
            r#"{"todos":[{"content":"Read the parser","status":"completed","activeForm":"Reading"},{"content":"Fix the cut line","status":"in_progress","activeForm":"Fixing"},{"content":"Add a test","status":"pending","activeForm":"Adding"}]}"#
        ),
        s("3 todos, 1 done; now: Fix the cut line")
    );
    assert_eq!(
        summary(
            "TodoWrite",
            r#"{"todos":[{"content":"a","status":"completed"},"x"]}"#
        ),
        s("1 todo, 1 done")
    );
    // other shapes of the public corpus: a team's message, an older
    // question, a background task's output, a new task
    assert_eq!(
        summary(
            "SendMessage",
            r#"{"type":"shutdown_request","recipient":"alice","content":"done"}"#
        ),
        s("to alice")
    );
    assert_eq!(
        summary("AskUserQuestion", r#"{"question":"Proceed?"}"#),
        s("Proceed?")
    );
    assert_eq!(summary("TaskOutput", r#"{"task_id":"b1"}"#), s("task b1"));
    assert_eq!(
        summary("TaskCreate", r#"{"subject":"Write the docs"}"#),
        s("Write the docs")
    );
    assert_eq!(
        summary(
            "AskUserQuestion",
            r#"{"questions":[{"question":"Which database?","header":"DB","options":[]}]}"#
        ),
        s("Which database?")
    );
    assert_eq!(
        summary("ExitPlanMode", r#"{"plan":"1. Read\n2. Fix"}"#),
        s("1. Read\n2. Fix")
    );
    assert_eq!(
        summary(
            "SendMessage",
            r#"{"to":"alice","summary":"tests pass","message":"All green."}"#
        ),
        s("to alice: tests pass")
    );
    assert_eq!(
        summary("BashOutput", r#"{"bash_id":"bash_3"}"#),
        s("bash_3")
    );
    assert_eq!(summary("KillShell", r#"{"shell_id":"sh_1"}"#), s("sh_1"));
    assert_eq!(
        summary(
            "TaskUpdate",
            r#"{"taskId":"3","status":"completed","owner":"bob"}"#
        ),
        s("task 3: completed")
    );
    assert_eq!(summary("TaskGet", r#"{"taskId":"7"}"#), s("task 7"));
    // what a tool's own field says comes first, and odd shapes are no summary
    assert_eq!(summary("Bash", r#"{"command":"ls","plan":"x"}"#), s("ls"));
    assert_eq!(summary("TodoWrite", r#"{"todos":"none"}"#), None);
    assert_eq!(summary("TaskList", r#"{}"#), None);
}

#[test]
fn link_and_worktree_lines_keep_what_they_point_at() {
    // (as the public corpus' jazzyalex fixture writes them)
    let value = |line: &str| match record(line).body {
        Body::Meta { value } => value,
        _ => panic!("no metadata line: {line}"),
    };
    assert_eq!(
        value(r#"{"type":"pr-link","sessionId":"s","prNumber":1,"prUrl":"https://example.invalid/org/repo/pull/1","prRepository":"org/repo","timestamp":"2025-12-16T00:00:10.000Z"}"#).as_deref(),
        Some("https://example.invalid/org/repo/pull/1")
    );
    assert_eq!(
        value(r#"{"type":"frame-link","sessionId":"s","path":"/tmp/preview.html","frameUrl":"https://example.invalid/artifact/stage0","title":"Stage0 preview"}"#).as_deref(),
        Some("https://example.invalid/artifact/stage0")
    );
    assert_eq!(
        value(
            r#"{"type":"relocated","sessionId":"s","relocatedCwd":"/tmp/repo/worktrees/example"}"#
        )
        .as_deref(),
        Some("/tmp/repo/worktrees/example")
    );
    assert_eq!(
        value(r#"{"type":"worktree-state","sessionId":"s","worktreeSession":{"originalCwd":"/tmp/repo","worktreePath":"/tmp/repo/worktrees/example","worktreeName":"example"}}"#).as_deref(),
        Some("/tmp/repo/worktrees/example")
    );
    assert_eq!(
        value(r#"{"type":"worktree-state","worktreeSession":null}"#),
        None
    );
}

/// A workflow agent's `<session>#agent-<id>` is that session's agent (the
/// line's own `agentId` first); any other id is the line's session as is.
#[test]
fn a_workflow_agents_session_id_names_its_session_and_agent() {
    let env = |line: &str| {
        let r = record(line);
        (r.env.session_id, r.env.agent_id)
    };
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        env(r#"{"type":"user","sessionId":"1111-aa#agent-ag01","agentId":"ag01","uuid":"u"}"#),
        (some("1111-aa"), some("ag01"))
    );
    assert_eq!(
        env(r#"{"type":"user","sessionId":"1111-aa#agent-ag01","uuid":"u"}"#),
        (some("1111-aa"), some("ag01"))
    );
    assert_eq!(
        env(r#"{"type":"user","sessionId":"1111-aa#agent-ag01","agentId":"other","uuid":"u"}"#),
        (some("1111-aa"), some("other"))
    );
    for id in ["#agent-ag01", "1111-aa#agent-", "1111-aa", "agent-ag01"] {
        let line = format!(r#"{{"type":"user","sessionId":"{id}","uuid":"u"}}"#);
        assert_eq!(env(&line), (some(id), None), "{id}");
    }
}

#[test]
fn a_subagent_sidecar_is_an_agent_meta_record_named_by_its_path() {
    let r =
        record(r#"{"agentType":"Explore","description":"Find the bug","toolUseId":"toolu_01"}"#);
    assert_eq!((r.line_type.as_str(), r.known), (AGENT_META, true));
    match &r.body {
        Body::AgentMeta {
            agent_type,
            description,
            spawned_by,
        } => assert_eq!(
            (
                agent_type.as_deref(),
                description.as_deref(),
                spawned_by.as_deref()
            ),
            (Some("Explore"), Some("Find the bug"), Some("toolu_01"))
        ),
        b => panic!("{b:?}"),
    }
    // (the other shape seen: no description, a spawn depth)
    let r = record(r#"{"agentType":"general-purpose","spawnDepth":1}"#);
    assert!(
        matches!(&r.body, Body::AgentMeta { agent_type: Some(t), description: None, .. } if t == "general-purpose")
    );
    // an object with neither `type` nor `agentType` stays unknown; a typed
    // line is its type whatever else it holds
    let r = record(r#"{"description":"x"}"#);
    assert_eq!((r.line_type.as_str(), r.known), (NO_TYPE, false));
    let r =
        record(r#"{"type":"user","agentType":"Explore","message":{"role":"user","content":"hi"}}"#);
    assert_eq!(r.line_type, "user");

    assert_eq!(
        sidecar_ids("/h/.claude/projects/-p/0ca5/subagents/agent-a1b2.meta.json"),
        (Some("0ca5".into()), Some("a1b2".into()))
    );
    assert_eq!(
        sidecar_ids("/h/.claude/projects/-p/0ca5/subagents/workflows/wf1/agent-x.meta.json"),
        (Some("0ca5".into()), Some("x".into()))
    );
    assert_eq!(sidecar_ids("/p/agent-.meta.json"), (None, None));
}
