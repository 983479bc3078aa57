//! Keying input normalisation for names (kana), lot numbers and free text.
//!
//! Dates live in [`crate::date`]. Every function here is idempotent: normalising a normalised
//! value returns it unchanged (property-tested), which double-entry comparison relies on.
//!
//! Decisions:
//! - Kana names: NFKC first (half-width ｶﾀｶﾅ → full-width, ＡＢＣ → ABC, 　→ space), then
//!   hiragana → katakana, then dash-like characters directly after a kana → 長音符「ー」 (keyers type
//!   「-」「－」「‐」 for 「ー」 on forms) **(conservative: only after a kana, so other dashes stay errors)**,
//!   then every run of spaces becomes one ASCII space and the ends are trimmed. Anything left that is
//!   not katakana, 「ー」, 「・」 or a space is refused: a フリガナ field holds kana only.
//! - Lot numbers: NFKC, ASCII upper case, whitespace removed **(conservative: stickers carry no spaces;
//!   a space is taken as a keying artefact)**; at most 20 characters (VRS limit, §4.2); printable ASCII
//!   only. No pattern is imposed beyond that (§6.5).

use unicode_normalization::UnicodeNormalization;

/// Why a kana name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KanaError {
    #[error("フリガナが入力されていません")]
    Empty,
    #[error("フリガナはカタカナで入力してください（使えない文字: {0}）")]
    NotKana(char),
    #[error("フリガナは{max}文字以内で入力してください")]
    TooLong { max: usize },
}

/// Longest フリガナ accepted, in characters (after normalisation).
pub const KANA_MAX_CHARS: usize = 60;

/// Normalises a フリガナ for storage and matching: full-width katakana, single ASCII spaces.
pub fn normalize_kana(input: &str) -> Result<String, KanaError> {
    // The spacing sound marks ゛゜ (U+309B/C), as legacy systems write 「ウ゛」 for 「ヴ」, become
    // the combining ones first so that NFKC composes them with the kana before (NFKC alone turns
    // them into a space plus the combining mark, which composes with nothing).
    let nfkc: String = input
        .chars()
        .map(|c| match c {
            '\u{309B}' => '\u{3099}',
            '\u{309C}' => '\u{309A}',
            c => c,
        })
        .nfkc()
        .collect();
    let mut out = String::with_capacity(nfkc.len());
    let mut pending_space = false;
    for c in nfkc.chars() {
        let c = hiragana_to_katakana(c);
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        let c = if is_dash_like(c)
            && out.chars().last().is_some_and(is_kana_letter)
            && !pending_space
        {
            'ー'
        } else {
            c
        };
        if !(is_kana_letter(c) || c == 'ー' || c == '・') {
            return Err(KanaError::NotKana(c));
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(KanaError::Empty);
    }
    if out.chars().count() > KANA_MAX_CHARS {
        return Err(KanaError::TooLong {
            max: KANA_MAX_CHARS,
        });
    }
    Ok(out)
}

/// Matching key for a normalised kana name: spaces removed, so 「ヤマダ タロウ」 matches 「ヤマダタロウ」.
pub fn kana_match_key(input: &str) -> Result<String, KanaError> {
    Ok(normalize_kana(input)?.replace(' ', ""))
}

/// Search key for a kana name (resident lookup): the match key with 「・」 removed and small kana
/// folded to their full-size letters, so 「ｼﾖｳｺ」 (legacy systems without small kana) finds
/// 「ショウコ」 and a keyer's 「ウ゛」 or 「ｳﾞ」 finds 「ヴ」.
///
/// Decision: 「ー」 is kept (dash-like input already became 「ー」) **(conservative: 「ユーコ」 and
/// 「ユウコ」 are different names in the register)**.
pub fn kana_search_key(input: &str) -> Result<String, KanaError> {
    Ok(kana_match_key(input)?
        .chars()
        .filter(|c| *c != '・')
        .map(fold_small_kana)
        .collect())
}

fn fold_small_kana(c: char) -> char {
    match c {
        'ァ' => 'ア',
        'ィ' => 'イ',
        'ゥ' => 'ウ',
        'ェ' => 'エ',
        'ォ' => 'オ',
        'ッ' => 'ツ',
        'ャ' => 'ヤ',
        'ュ' => 'ユ',
        'ョ' => 'ヨ',
        'ヮ' => 'ワ',
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        c => c,
    }
}

fn hiragana_to_katakana(c: char) -> char {
    match c {
        // ぁ..ゖ and ゝゞ map 0x60 up to the katakana block.
        '\u{3041}'..='\u{3096}' | '\u{309D}'..='\u{309E}' => {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

fn is_kana_letter(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | '\u{30FD}'..='\u{30FE}')
}

fn is_dash_like(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            | '\u{2011}'
            | '\u{2012}'
            | '\u{2013}'
            | '\u{2014}'
            | '\u{2015}'
            | '\u{2212}'
            | '\u{FF70}'
            | '〜'
            | '~'
    )
}

/// Normalises a name in kanji (氏名) for storage: NFKC and single spaces. Characters outside
/// the standard set are kept; see [`has_gaiji`].
pub fn normalize_name(input: &str) -> String {
    let nfkc: String = input.nfkc().collect();
    nfkc.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a name holds a character that the standard character set cannot represent
/// (外字): private-use code points, which is how legacy systems carry them.
pub fn has_gaiji(name: &str) -> bool {
    name.chars().any(|c| {
        matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}')
    })
}

/// Why a lot number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LotError {
    #[error("ロット番号が入力されていません")]
    Empty,
    #[error("ロット番号は{max}文字以内で入力してください")]
    TooLong { max: usize },
    #[error("ロット番号に使えない文字が含まれています: {0}")]
    InvalidCharacter(char),
}

/// Longest lot number accepted (VRS allowed 20 characters).
pub const LOT_MAX_CHARS: usize = 20;

/// Normalises a lot number (ロット番号): half-width, upper case, no spaces.
pub fn normalize_lot(input: &str) -> Result<String, LotError> {
    let mut out = String::new();
    for c in input.nfkc() {
        if c.is_whitespace() {
            continue;
        }
        if !c.is_ascii_graphic() {
            return Err(LotError::InvalidCharacter(c));
        }
        out.push(c.to_ascii_uppercase());
    }
    if out.is_empty() {
        return Err(LotError::Empty);
    }
    if out.chars().count() > LOT_MAX_CHARS {
        return Err(LotError::TooLong { max: LOT_MAX_CHARS });
    }
    Ok(out)
}

/// Normalises free text (remarks, reasons) for comparison: NFKC, single spaces, trimmed.
pub fn normalize_free_text(input: &str) -> String {
    normalize_name(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kana_table() {
        let cases = [
            ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"),
            ("やまだ　たろう", "ヤマダ タロウ"),
            ("ヤマダ　　タロウ ", "ヤマダ タロウ"),
            ("  ｽｽﾞｷ   ﾊﾅｺ", "スズキ ハナコ"),
            ("サトウ ユーコ", "サトウ ユーコ"),
            ("ｻﾄｳ ﾕｰｺ", "サトウ ユーコ"),
            ("さとう ゆ-こ", "サトウ ユーコ"),
            ("サトウ ユ－コ", "サトウ ユーコ"),
            ("ゔぁいおりん", "ヴァイオリン"),
            ("スミス・ジョン", "スミス・ジョン"),
            ("ﾊﾟﾊﾟ", "パパ"),
            ("ウ゛ァイオリン", "ヴァイオリン"),
            ("ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"),
            ("ハ゜ハ゜", "パパ"),
        ];
        for (input, want) in cases {
            assert_eq!(
                normalize_kana(input).as_deref(),
                Ok(want),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn kana_refusals() {
        assert_eq!(normalize_kana("   "), Err(KanaError::Empty));
        assert_eq!(normalize_kana("山田"), Err(KanaError::NotKana('山')));
        assert_eq!(normalize_kana("Yamada"), Err(KanaError::NotKana('Y')));
        assert_eq!(normalize_kana("-ヤマダ"), Err(KanaError::NotKana('-')));
        assert!(matches!(
            normalize_kana(&"ア".repeat(61)),
            Err(KanaError::TooLong { .. })
        ));
    }

    #[test]
    fn kana_match_key_ignores_spaces() {
        assert_eq!(
            kana_match_key("ﾔﾏﾀﾞ ﾀﾛｳ").unwrap(),
            kana_match_key("やまだたろう").unwrap()
        );
    }

    #[test]
    fn kana_search_key_folds_small_kana_sound_marks_and_width() {
        let key = kana_search_key("ｼｮｳｺ").unwrap();
        assert_eq!(key, "シヨウコ");
        assert_eq!(kana_search_key("しようこ").unwrap(), key);
        assert_eq!(
            kana_search_key("ウ゛ィクトール・ヤマダ").unwrap(),
            "ヴイクトールヤマダ"
        );
        assert_eq!(
            kana_search_key("ｳﾞｨｸﾄｰﾙ ﾔﾏﾀﾞ").unwrap(),
            kana_search_key("ヴィクトール　やまだ").unwrap()
        );
        assert_eq!(kana_search_key("ﾔﾏﾀﾞ").unwrap(), "ヤマダ");
        // Long vowel mark is kept: ユーコ and ユウコ stay different.
        assert_ne!(
            kana_search_key("ユーコ").unwrap(),
            kana_search_key("ユウコ").unwrap()
        );
        assert_eq!(kana_search_key("山田"), Err(KanaError::NotKana('山')));
    }

    #[test]
    fn lot_table() {
        let cases = [
            ("ff3620", "FF3620"),
            ("ＦＦ３６２０", "FF3620"),
            (" ab-12 34 ", "AB-1234"),
            ("12345678", "12345678"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_lot(input).as_deref(), Ok(want), "input {input:?}");
        }
        assert_eq!(normalize_lot(" "), Err(LotError::Empty));
        assert_eq!(
            normalize_lot("ロット1"),
            Err(LotError::InvalidCharacter('ロ'))
        );
        assert_eq!(
            normalize_lot("A123456789012345678901"),
            Err(LotError::TooLong { max: 20 })
        );
    }

    #[test]
    fn names_and_gaiji() {
        assert_eq!(normalize_name(" 山田　 太郎 "), "山田 太郎");
        assert!(has_gaiji("山\u{E000}"));
        assert!(!has_gaiji("髙橋"));
    }
}
