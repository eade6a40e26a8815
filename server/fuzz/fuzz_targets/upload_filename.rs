//! The name of an upload: the `Content-Disposition` header (`filename*=` RFC 5987 and plain
//! `filename=`, quoted or not) and the sanitising that makes it safe to store and show; and the
//! media kind the upload rules sniff from the bytes or infer from the name. Nothing may panic;
//! a kept name is non-empty, bounded and free of NUL, path separators and control characters;
//! sanitising is idempotent; and the download's `Content-Disposition` gives the same name back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sogs::domain::FileName;
use sogs::domain::filename::{MAX_CHARS, download_disposition};
use sogs::domain::room_policy::MediaKind;

fuzz_target!(|data: &[u8]| {
    let header = String::from_utf8_lossy(data);
    for name in [
        FileName::from_content_disposition(&header),
        FileName::new(&header),
    ]
    .into_iter()
    .flatten()
    {
        let text = name.as_str();
        assert!(!text.is_empty());
        assert!(
            text.chars().count() <= MAX_CHARS,
            "{} chars",
            text.chars().count()
        );
        assert!(
            !text
                .chars()
                .any(|c| c == '/' || c == '\\' || c.is_control()),
            "unsafe character kept in {text:?}"
        );
        assert_eq!(
            FileName::new(text).as_ref(),
            Some(&name),
            "sanitising is idempotent"
        );
        let download = download_disposition(Some(text));
        assert!(download.is_ascii(), "a header value is ASCII");
        assert_eq!(
            FileName::from_content_disposition(&download).as_ref(),
            Some(&name),
            "the download names the file as the upload did"
        );
        let _ = MediaKind::of_file_name(Some(text));
    }
    let _ = MediaKind::sniff(data);
});
