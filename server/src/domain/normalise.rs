//! Text normalisation for the anti-raid detectors: one spelling per message, whatever
//! "fancy text" a raider dressed it in.
//!
//! Raid bots vary each copy of a message so that exact-match filters miss them: letters
//! swapped for look-alikes from other scripts (Cyrillic `а` for `a`), mathematical or
//! enclosed alphanumerics (`𝓱𝓮𝓵𝓵𝓸`, `ⓗⓔⓛⓛⓞ`), full-width forms, zero-width characters
//! between letters, random emoji and extra spaces. Folding all of that away before hashing
//! lets copies meet again. The confusable tables come from `decancer` (maintained against
//! Unicode's confusables data) rather than from a hand-written list.

use decancer::Options;

/// Characters that render as nothing (or only join or select a glyph variant) and are used
/// to split words invisibly. They are dropped, never turned into spaces, so `he\u{200B}llo`
/// stays one word.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                    // soft hyphen
        | '\u{034F}'                  // combining grapheme joiner
        | '\u{061C}'                  // Arabic letter mark
        | '\u{115F}' | '\u{1160}'     // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'     // Khmer inherent vowels
        | '\u{180B}'..='\u{180F}'     // Mongolian variation selectors and vowel separator
        | '\u{200B}'..='\u{200F}'     // zero-width space, (non-)joiner, direction marks
        | '\u{202A}'..='\u{202E}'     // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'     // word joiner, invisible operators, bidi isolates
        | '\u{3164}'                  // Hangul filler
        | '\u{FE00}'..='\u{FE0F}'     // variation selectors
        | '\u{FEFF}'                  // zero-width no-break space
        | '\u{FFA0}'                  // half-width Hangul filler
        | '\u{1D173}'..='\u{1D17A}'   // musical formatting controls
        | '\u{E0000}'..='\u{E0FFF}' // tags and variation selectors supplement
    )
}

/// Pictographs: emoji, dingbats, arrows and symbols. `decancer` reads some of them as
/// letters (a round face as `o`), which would turn decoration into text; they are word breaks
/// instead. Fancy *letters* (enclosed, regional-indicator or mathematical alphanumerics) are
/// outside these blocks and do fold.
fn is_pictograph(c: char) -> bool {
    matches!(c,
        '\u{2190}'..='\u{21FF}'     // arrows
        | '\u{2300}'..='\u{23FF}'   // miscellaneous technical (⌚, ⏰)
        | '\u{25A0}'..='\u{27BF}'   // geometric shapes, miscellaneous symbols, dingbats
        | '\u{2900}'..='\u{297F}'   // supplemental arrows
        | '\u{2B00}'..='\u{2BFF}'   // miscellaneous symbols and arrows
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{1F000}'..='\u{1F0FF}' // mahjong, domino and playing cards
        | '\u{1F300}'..='\u{1FAFF}' // pictographs, emoticons, transport, supplemental symbols
    )
}

/// Folds `text` to lowercase ASCII letters and digits separated by single spaces.
///
/// Confusables and fancy alphabets become their ASCII letter, diacritics are stripped,
/// invisible characters vanish, and everything else that is not a letter or digit (emoji,
/// punctuation, symbols, whitespace of any kind) becomes a word break. Letters of scripts
/// with no ASCII look-alike are dropped, which is why callers only compare normalised texts
/// of a minimum length.
pub fn normalise(text: &str) -> String {
    let visible: String = text
        .chars()
        .filter(|&c| !is_invisible(c))
        .map(|c| if is_pictograph(c) { ' ' } else { c })
        .collect();
    // Bidi reordering only matters for display; skipping it also means a hostile run of
    // direction overrides cannot make the cure fail.
    let cured: String = match decancer::cure(&visible, Options::default().disable_bidi()) {
        Ok(cured) => cured.into(),
        Err(_) => visible.to_lowercase(),
    };
    let mut out = String::with_capacity(cured.len());
    let mut pending_space = false;
    for c in cured.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c.to_ascii_lowercase());
        } else {
            pending_space = true;
        }
    }
    out
}

/// The normalised text with its word breaks removed as well: what the similarity hash
/// reads, so that an emoji put between two words, or a space put inside one, changes
/// nothing.
pub fn compact(normalised: &str) -> String {
    normalised.chars().filter(|c| *c != ' ').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_lowercased_and_its_spaces_collapsed() {
        assert_eq!(normalise("  Hello,\t\tWORLD!\n"), "hello world");
    }

    #[test]
    fn mathematical_script_letters_fold_to_ascii() {
        assert_eq!(normalise("𝓱𝓮𝓵𝓵𝓸 𝔀𝓸𝓻𝓵𝓭"), "hello world");
        assert_eq!(normalise("𝐅𝐑𝐄𝐄 𝐂𝐑𝐘𝐏𝐓𝐎"), "free crypto");
    }

    #[test]
    fn circled_and_full_width_letters_fold_to_ascii() {
        assert_eq!(normalise("ⓗⓔⓛⓛⓞ"), "hello");
        assert_eq!(normalise("ｈｅｌｌｏ"), "hello");
        assert_eq!(normalise("🅷🅴🅻🅻🅾 🄷🄴🄻🄻🄾"), "hello hello");
    }

    #[test]
    fn cyrillic_and_greek_look_alikes_fold_to_latin() {
        // "раураl" written with Cyrillic р, а, у.
        assert_eq!(
            normalise("\u{0440}\u{0430}\u{0443}\u{0440}\u{0430}l"),
            "paypal"
        );
        // Greek capital omicron and nu in "ONLINE".
        assert_eq!(normalise("\u{039F}\u{039D}LINE"), "online");
    }

    #[test]
    fn zero_width_characters_inside_a_word_vanish_without_splitting_it() {
        assert_eq!(normalise("he\u{200B}l\u{200D}l\u{FEFF}o"), "hello");
        assert_eq!(normalise("fr\u{2060}ee\u{00AD}dom"), "freedom");
    }

    #[test]
    fn emoji_and_punctuation_become_word_breaks() {
        assert_eq!(normalise("🔥join🔥 now!!! 🚀🚀"), "join now");
        assert_eq!(normalise("👨‍👩‍👧 family"), "family");
    }

    #[test]
    fn diacritics_are_stripped() {
        assert_eq!(normalise("Café Ünïcödé"), "cafe unicode");
    }

    #[test]
    fn text_with_nothing_foldable_is_empty() {
        assert_eq!(normalise(""), "");
        assert_eq!(normalise("🙂🙂 !!! \u{200B}"), "");
    }

    #[test]
    fn hostile_direction_overrides_do_not_break_normalisation() {
        let hostile = format!("{}abc{}", "\u{202E}".repeat(200), "\u{2066}".repeat(200));
        assert_eq!(normalise(&hostile), "abc");
    }

    #[test]
    fn compact_form_ignores_where_the_word_breaks_fall() {
        assert_eq!(
            compact(&normalise("join🔥now")),
            compact(&normalise("jo in now"))
        );
    }
}
