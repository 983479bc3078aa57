//! Synthetic data: residents, clinics and vaccine products, deterministic by seed.
//!
//! Used by tests, the demo profile and `ledger-bench`. Resident `i` of a seed is a pure function
//! of `(seed, i)`, so a million rows stream to any [`Write`] without being held in memory, and a
//! delta file or a benchmark can regenerate any resident by its index.
//!
//! Distributions (per resident): birth date uniform over 0–100 years before the as-of date;
//! 1 % 外字 (flag set and the kanji name carries a CP932 extension variant such as 髙 or 﨑);
//! 0.1 % 閲覧注意; 0.5 % 住登外; 0.3 % deceased; 0.5 % moved out. Every name and address is
//! encodable in CP932, so the UTF-8 and the CP932 files carry the same text.

use chrono::{Datelike, Duration, NaiveDate};
use std::io::{self, Write};

/// SplitMix64: tiny, fast and good enough for test data (not for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; the modulo bias is irrelevant for test data).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `per_100k` / 100,000.
    pub fn chance(&mut self, per_100k: u64) -> bool {
        self.below(100_000) < per_100k
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// (kanji, katakana reading) of common surnames.
pub const SURNAMES: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("山崎", "ヤマザキ"),
    ("森", "モリ"),
    ("池田", "イケダ"),
    ("橋本", "ハシモト"),
    ("阿部", "アベ"),
    ("石川", "イシカワ"),
    ("山下", "ヤマシタ"),
    ("中島", "ナカジマ"),
    ("石井", "イシイ"),
    ("小川", "オガワ"),
    ("前田", "マエダ"),
    ("岡田", "オカダ"),
    ("長谷川", "ハセガワ"),
    ("藤田", "フジタ"),
    ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"),
    ("村上", "ムラカミ"),
    ("遠藤", "エンドウ"),
    ("青木", "アオキ"),
    ("坂本", "サカモト"),
    ("斉藤", "サイトウ"),
    ("福田", "フクダ"),
    ("太田", "オオタ"),
    ("西村", "ニシムラ"),
    ("藤井", "フジイ"),
    ("金子", "カネコ"),
    ("岡本", "オカモト"),
    ("藤原", "フジワラ"),
    ("中野", "ナカノ"),
    ("三浦", "ミウラ"),
    ("原田", "ハラダ"),
    ("中川", "ナカガワ"),
    ("松田", "マツダ"),
    ("竹内", "タケウチ"),
    ("小野", "オノ"),
    ("田村", "タムラ"),
    ("中山", "ナカヤマ"),
    ("和田", "ワダ"),
    ("石田", "イシダ"),
    ("森田", "モリタ"),
    ("上田", "ウエダ"),
    ("原", "ハラ"),
    ("内田", "ウチダ"),
    ("柴田", "シバタ"),
    ("酒井", "サカイ"),
    ("宮崎", "ミヤザキ"),
    ("横山", "ヨコヤマ"),
    ("高木", "タカギ"),
    ("安藤", "アンドウ"),
    ("宮本", "ミヤモト"),
    ("大野", "オオノ"),
    ("小島", "コジマ"),
    ("谷口", "タニグチ"),
    ("今井", "イマイ"),
    ("工藤", "クドウ"),
    ("高田", "タカダ"),
    ("増田", "マスダ"),
    ("丸山", "マルヤマ"),
    ("杉山", "スギヤマ"),
    ("村田", "ムラタ"),
    ("大塚", "オオツカ"),
    ("新井", "アライ"),
    ("小山", "コヤマ"),
    ("平野", "ヒラノ"),
    ("藤本", "フジモト"),
    ("河野", "コウノ"),
    ("上野", "ウエノ"),
    ("野口", "ノグチ"),
    ("武田", "タケダ"),
    ("松井", "マツイ"),
    ("千葉", "チバ"),
    ("岩崎", "イワサキ"),
    ("菅原", "スガワラ"),
    ("木下", "キノシタ"),
    ("久保", "クボ"),
    ("佐野", "サノ"),
    ("野村", "ノムラ"),
    ("松尾", "マツオ"),
    ("菊地", "キクチ"),
    ("大内", "オオウチ"),
];

/// Surnames written with a CP932 extension character (外字 in many municipal systems).
pub const GAIJI_SURNAMES: &[(&str, &str)] = &[
    ("髙橋", "タカハシ"),
    ("髙田", "タカダ"),
    ("髙木", "タカギ"),
    ("山﨑", "ヤマザキ"),
    ("宮﨑", "ミヤザキ"),
    ("岩﨑", "イワサキ"),
    ("川﨑", "カワサキ"),
    ("岡﨑", "オカザキ"),
];

/// (kanji, katakana reading) of common male given names.
pub const MALE_NAMES: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("一郎", "イチロウ"),
    ("健太", "ケンタ"),
    ("翔太", "ショウタ"),
    ("大輔", "ダイスケ"),
    ("拓也", "タクヤ"),
    ("直樹", "ナオキ"),
    ("浩", "ヒロシ"),
    ("誠", "マコト"),
    ("隆", "タカシ"),
    ("蓮", "レン"),
    ("悠真", "ユウマ"),
    ("湊", "ミナト"),
    ("陽翔", "ハルト"),
    ("大翔", "ヒロト"),
    ("悠人", "ユウト"),
    ("颯太", "ソウタ"),
    ("蒼", "アオイ"),
    ("樹", "イツキ"),
    ("陸", "リク"),
    ("和夫", "カズオ"),
    ("清", "キヨシ"),
    ("茂", "シゲル"),
    ("勇", "イサム"),
    ("実", "ミノル"),
    ("進", "ススム"),
    ("博", "ヒロシ"),
    ("修", "オサム"),
    ("正", "タダシ"),
    ("明", "アキラ"),
    ("達也", "タツヤ"),
    ("和也", "カズヤ"),
    ("哲也", "テツヤ"),
    ("聡", "サトシ"),
    ("剛", "ツヨシ"),
    ("亮", "リョウ"),
    ("翼", "ツバサ"),
    ("駿", "シュン"),
    ("大和", "ヤマト"),
    ("悠斗", "ユウト"),
    ("陽太", "ヨウタ"),
    ("奏太", "ソウタ"),
    ("優斗", "ユウト"),
    ("海斗", "カイト"),
    ("新", "アラタ"),
    ("律", "リツ"),
    ("朝陽", "アサヒ"),
    ("結翔", "ユイト"),
    ("晴", "ハル"),
    ("伊織", "イオリ"),
];

/// (kanji, katakana reading) of common female given names.
pub const FEMALE_NAMES: &[(&str, &str)] = &[
    ("花子", "ハナコ"),
    ("陽菜", "ヒナ"),
    ("結衣", "ユイ"),
    ("葵", "アオイ"),
    ("さくら", "サクラ"),
    ("美咲", "ミサキ"),
    ("凛", "リン"),
    ("結愛", "ユア"),
    ("芽依", "メイ"),
    ("紬", "ツムギ"),
    ("澪", "ミオ"),
    ("陽葵", "ヒマリ"),
    ("杏", "アン"),
    ("莉子", "リコ"),
    ("美羽", "ミウ"),
    ("愛", "アイ"),
    ("恵子", "ケイコ"),
    ("幸子", "サチコ"),
    ("和子", "カズコ"),
    ("節子", "セツコ"),
    ("洋子", "ヨウコ"),
    ("京子", "キョウコ"),
    ("裕子", "ユウコ"),
    ("久美子", "クミコ"),
    ("真由美", "マユミ"),
    ("智子", "トモコ"),
    ("直美", "ナオミ"),
    ("由美", "ユミ"),
    ("明美", "アケミ"),
    ("美穂", "ミホ"),
    ("愛子", "アイコ"),
    ("彩", "アヤ"),
    ("舞", "マイ"),
    ("麻衣", "マイ"),
    ("沙織", "サオリ"),
    ("香織", "カオリ"),
    ("優子", "ユウコ"),
    ("千尋", "チヒロ"),
    ("遥", "ハルカ"),
    ("七海", "ナナミ"),
    ("美月", "ミツキ"),
    ("彩花", "アヤカ"),
    ("菜々子", "ナナコ"),
    ("静香", "シズカ"),
    ("光子", "ミツコ"),
    ("文子", "フミコ"),
    ("ヨシ", "ヨシ"),
    ("ハル", "ハル"),
    ("詩", "ウタ"),
    ("心春", "コハル"),
];

const WARDS: &[&str] = &[
    "仙台市青葉区",
    "仙台市宮城野区",
    "仙台市若林区",
    "仙台市太白区",
    "仙台市泉区",
];

const TOWNS: &[&str] = &[
    "本町",
    "中央",
    "一番町",
    "国分町",
    "花京院",
    "上杉",
    "台原",
    "旭ケ丘",
    "長町",
    "富沢",
    "八木山本町",
    "荒井",
    "卸町",
    "六丁の目中町",
    "泉中央",
    "南光台",
    "将監",
    "寺岡",
    "鶴ケ谷",
    "小鶴",
    "岩切",
    "福室",
    "高砂",
    "中山",
    "北山",
    "桜ケ丘",
    "川内",
    "片平",
    "五橋",
    "木町通",
];

/// One synthetic resident, in the extract's columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthResident {
    /// 宛名番号: 10 digits, unique per seed.
    pub atena_no: String,
    /// カナ氏名 (full-width katakana, surname and given name separated by U+3000).
    pub kana: String,
    /// 氏名.
    pub kanji: String,
    /// 1 male, 2 female.
    pub sex: u8,
    pub birth_date: NaiveDate,
    pub address: String,
    /// 住登外.
    pub outside_register: bool,
    /// 閲覧注意.
    pub restricted: bool,
    /// 外字.
    pub gaiji: bool,
    pub died_on: Option<NaiveDate>,
    pub moved_out_on: Option<NaiveDate>,
}

/// The generator's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthConfig {
    pub seed: u64,
    /// The extract's as-of date: ages and event dates count back from it.
    pub as_of: NaiveDate,
}

impl SynthConfig {
    pub fn new(seed: u64) -> SynthConfig {
        SynthConfig {
            seed,
            as_of: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap_or_default(),
        }
    }
}

/// Range of 宛名番号 values: 1,000,000,000 ..= 9,999,999,999 (always 10 digits).
const ATENA_SPAN: u64 = 9_000_000_000;
/// Coprime with 9,000,000,000 (= 2^6·3^2·5^9): `i ↦ i·STRIDE mod SPAN` is a permutation.
const ATENA_STRIDE: u64 = 7_777_777_777 + 6; // 7777777783 is prime

/// The 宛名番号 of resident `index` under `seed`: unique for every index below 9·10⁹.
pub fn atena_no(seed: u64, index: u64) -> String {
    let offset = Rng::new(seed ^ 0xA7E4_A000).next_u64() % ATENA_SPAN;
    let v = ((u128::from(index) * u128::from(ATENA_STRIDE) + u128::from(offset))
        % u128::from(ATENA_SPAN)) as u64;
    format!("{}", 1_000_000_000 + v)
}

fn days_before(as_of: NaiveDate, days: u64) -> NaiveDate {
    as_of - Duration::days(days as i64)
}

/// Resident `index` of `cfg`: a pure function of the seed and the index.
pub fn resident(cfg: &SynthConfig, index: u64) -> SynthResident {
    let mut rng = Rng::new(cfg.seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ index);
    // Warm up so that neighbouring indices diverge.
    rng.next_u64();
    let sex = if rng.below(2) == 0 { 1u8 } else { 2u8 };
    let gaiji = rng.chance(1_000);
    let (sur_k, sur_r) = if gaiji {
        *rng.pick(GAIJI_SURNAMES)
    } else {
        *rng.pick(SURNAMES)
    };
    let (giv_k, giv_r) = if sex == 1 {
        *rng.pick(MALE_NAMES)
    } else {
        *rng.pick(FEMALE_NAMES)
    };
    let age_days = rng.below(100 * 365 + 24);
    let birth_date = days_before(cfg.as_of, age_days);
    let address = format!(
        "{}{}{}丁目{}番{}号",
        rng.pick(WARDS),
        rng.pick(TOWNS),
        1 + rng.below(9),
        1 + rng.below(40),
        1 + rng.below(30)
    );
    let restricted = rng.chance(100);
    let outside_register = rng.chance(500);
    let died_on = if rng.chance(300) {
        Some(days_before(cfg.as_of, rng.below(age_days.clamp(1, 730))))
    } else {
        None
    };
    let moved_out_on = if died_on.is_none() && rng.chance(500) {
        Some(days_before(cfg.as_of, rng.below(age_days.clamp(1, 365))))
    } else {
        None
    };
    SynthResident {
        atena_no: atena_no(cfg.seed, index),
        kana: format!("{sur_r}\u{3000}{giv_r}"),
        kanji: format!("{sur_k}\u{3000}{giv_k}"),
        sex,
        birth_date,
        address,
        outside_register,
        restricted,
        gaiji,
        died_on,
        moved_out_on,
    }
}

/// Residents `0..count` of `cfg`, generated lazily.
pub fn residents(cfg: SynthConfig, count: u64) -> impl Iterator<Item = SynthResident> {
    (0..count).map(move |i| resident(&cfg, i))
}

/// Text encoding of a written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Shift_JIS as Windows writes it (CP932, with the NEC and IBM extensions).
    Cp932,
}

/// The extract's header (the import's documented layout).
pub const RESIDENT_HEADER: &str =
    "宛名番号,カナ氏名,氏名,性別,生年月日,住所,住登外,閲覧注意,外字,死亡日,転出日";

/// Change kind of a delta row (`異動区分`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaKind {
    Add,
    Change,
    Remove,
}

impl DeltaKind {
    pub fn label(self) -> &'static str {
        match self {
            DeltaKind::Add => "追加",
            DeltaKind::Change => "変更",
            DeltaKind::Remove => "削除",
        }
    }
}

/// Writes lines in the chosen encoding, CRLF-terminated (as municipal systems export them).
struct LineWriter<W: Write> {
    out: W,
    encoding: Encoding,
    line: String,
}

impl<W: Write> LineWriter<W> {
    fn new(out: W, encoding: Encoding) -> Self {
        LineWriter {
            out,
            encoding,
            line: String::with_capacity(256),
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        self.line.push_str("\r\n");
        match self.encoding {
            Encoding::Utf8 => self.out.write_all(self.line.as_bytes())?,
            Encoding::Cp932 => {
                let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&self.line);
                if unmappable {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "a character has no CP932 code",
                    ));
                }
                self.out.write_all(&bytes)?;
            }
        }
        self.line.clear();
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Appends one CSV field, quoted only when it needs to be.
fn push_field(line: &mut String, value: &str) {
    if !line.is_empty() {
        line.push(',');
    }
    if value.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&value.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(value);
    }
}

fn flag(b: bool) -> &'static str {
    if b {
        "1"
    } else {
        ""
    }
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
        .unwrap_or_default()
}

fn push_resident(line: &mut String, r: &SynthResident) {
    push_field(line, &r.atena_no);
    push_field(line, &r.kana);
    push_field(line, &r.kanji);
    push_field(line, if r.sex == 1 { "1" } else { "2" });
    push_field(line, &date(Some(r.birth_date)));
    push_field(line, &r.address);
    push_field(line, flag(r.outside_register));
    push_field(line, flag(r.restricted));
    push_field(line, flag(r.gaiji));
    push_field(line, &date(r.died_on));
    push_field(line, &date(r.moved_out_on));
}

/// Writes the full extract of residents `0..count` (header first), one row at a time.
pub fn write_residents_csv<W: Write>(
    out: W,
    cfg: &SynthConfig,
    count: u64,
    encoding: Encoding,
) -> io::Result<W> {
    let mut w = LineWriter::new(out, encoding);
    w.line.push_str(RESIDENT_HEADER);
    w.emit()?;
    for i in 0..count {
        push_resident(&mut w.line, &resident(cfg, i));
        w.emit()?;
    }
    w.finish()
}

/// What a delta file does to an extract of `base_count` residents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeltaSpec {
    /// New residents: indices `base_count..base_count + adds`.
    pub adds: u64,
    /// Existing residents whose address (and, for some, moved-out date) changes.
    pub changes: u64,
    /// Existing residents removed from the extract.
    pub removes: u64,
}

/// One row of a delta: what happens and the resident's new state (for a removal, its last one).
pub fn delta_rows(
    cfg: &SynthConfig,
    base_count: u64,
    spec: DeltaSpec,
) -> impl Iterator<Item = (DeltaKind, SynthResident)> + use<> {
    let cfg = *cfg;
    // Changed and removed residents are distinct existing indices: walk the base with a stride
    // coprime to it, changes first, then removals.
    let touched = (spec.changes + spec.removes).min(base_count);
    let stride = coprime_stride(base_count);
    let start = Rng::new(cfg.seed ^ 0xDE17A).below(base_count.max(1));
    let existing = (0..touched).map(move |k| {
        let index = (start + k * stride) % base_count.max(1);
        let r = resident(&cfg, index);
        if k < spec.changes {
            let mut rng = Rng::new(cfg.seed ^ index ^ 0x00C4_A96E);
            let mut changed = r.clone();
            changed.address = format!(
                "{}{}{}丁目{}番{}号",
                rng.pick(WARDS),
                rng.pick(TOWNS),
                1 + rng.below(9),
                1 + rng.below(40),
                1 + rng.below(30)
            );
            if k % 10 == 9 && changed.died_on.is_none() {
                changed.moved_out_on = Some(cfg.as_of);
            }
            (DeltaKind::Change, changed)
        } else {
            (DeltaKind::Remove, r)
        }
    });
    let adds =
        (base_count..base_count + spec.adds).map(move |i| (DeltaKind::Add, resident(&cfg, i)));
    existing.chain(adds)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn coprime_stride(n: u64) -> u64 {
    if n <= 1 {
        return 1;
    }
    let mut s = (n / 2 + 1).max(1) | 1;
    while gcd(s, n) != 1 {
        s += 1;
    }
    s % n
}

/// Writes a delta file: the extract's columns plus `異動区分` (追加/変更/削除).
pub fn write_delta_csv<W: Write>(
    out: W,
    cfg: &SynthConfig,
    base_count: u64,
    spec: DeltaSpec,
    encoding: Encoding,
) -> io::Result<W> {
    let mut w = LineWriter::new(out, encoding);
    w.line.push_str("異動区分,");
    w.line.push_str(RESIDENT_HEADER);
    w.emit()?;
    for (kind, r) in delta_rows(cfg, base_count, spec) {
        w.line.push_str(kind.label());
        push_resident(&mut w.line, &r);
        w.emit()?;
    }
    w.finish()
}

/// One synthetic clinic: a valid 10-digit 医療機関コード and a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthClinic {
    pub code: String,
    pub name: String,
}

const CLINIC_KINDS: &[&str] = &[
    "内科クリニック",
    "小児科",
    "こどもクリニック",
    "内科医院",
    "ファミリークリニック",
    "総合病院",
    "診療所",
    "内科・小児科",
];

/// `count` clinics of prefecture 04 (宮城県), 医科, with valid check digits and distinct codes.
pub fn clinics(seed: u64, count: u32) -> Vec<SynthClinic> {
    let mut rng = Rng::new(seed ^ 0xC11);
    (0..count)
        .map(|i| {
            // 都道府県 04, 点数表 1 (医科), 郡市区 01–05, 番号 unique by index.
            let district = 1 + i % 5;
            let number = 1000 + i;
            let payload = format!("041{district:02}{number:04}");
            let digits: Vec<u8> = payload.bytes().map(|b| b - b'0').collect();
            let check = sesshu_domain::ids::luhn_check_digit(&digits);
            let (sur, _) = *rng.pick(SURNAMES);
            SynthClinic {
                code: format!("{payload}{check}"),
                name: format!("{sur}{}", rng.pick(CLINIC_KINDS)),
            }
        })
        .collect()
}

/// Writes the clinic table's import CSV (`医療機関コード,名称`).
pub fn write_clinics_csv<W: Write>(
    out: W,
    clinics: &[SynthClinic],
    encoding: Encoding,
) -> io::Result<W> {
    let mut w = LineWriter::new(out, encoding);
    w.line.push_str("医療機関コード,名称");
    w.emit()?;
    for c in clinics {
        push_field(&mut w.line, &c.code);
        push_field(&mut w.line, &c.name);
        w.emit()?;
    }
    w.finish()
}

/// One vaccine product of the code table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthProduct {
    pub code: String,
    /// Vaccine code of the schedule rules.
    pub vaccine: String,
    pub name: String,
    pub maker: String,
    /// Lot format pattern: `A` a letter, `9` a digit, anything else literal.
    pub lot_format: String,
}

/// A fixed, realistic product list (the same for every seed: the profile's products are few).
pub fn products() -> Vec<SynthProduct> {
    let p = |code: &str, vaccine: &str, name: &str, maker: &str, lot: &str| SynthProduct {
        code: code.to_owned(),
        vaccine: vaccine.to_owned(),
        name: name.to_owned(),
        maker: maker.to_owned(),
        lot_format: lot.to_owned(),
    };
    vec![
        p(
            "P001",
            "PCV20",
            "プレベナー20水性懸濁注",
            "ファイザー",
            "AA9999",
        ),
        p(
            "P002",
            "PCV15",
            "バクニュバンス水性懸濁注シリンジ",
            "MSD",
            "A999999",
        ),
        p("P003", "HIB", "アクトヒブ", "サノフィ", "A9999"),
        p(
            "P004",
            "HB",
            "ビームゲン注0.25mL",
            "KMバイオロジクス",
            "A999A",
        ),
        p("P005", "ROTA1", "ロタリックス内用液", "GSK", "AAAAA999AA"),
        p("P006", "ROTA5", "ロタテック内用液", "MSD", "A999999"),
        p(
            "P007",
            "MR",
            "乾燥弱毒生麻しん風しん混合ワクチン「タケダ」",
            "武田薬品工業",
            "A999",
        ),
        p(
            "P008",
            "VAR",
            "乾燥弱毒生水痘ワクチン「ビケン」",
            "BIKEN",
            "VZ999",
        ),
        p("P009", "JE", "ジェービックV", "BIKEN", "JR999"),
        p(
            "P010",
            "BCG",
            "乾燥BCGワクチン",
            "日本ビーシージー製造",
            "KH999",
        ),
        p(
            "P011",
            "HPV9",
            "シルガード9水性懸濁筋注シリンジ",
            "MSD",
            "A999999",
        ),
        p(
            "P012",
            "DT",
            "沈降ジフテリア破傷風混合トキソイド「タケダ」",
            "武田薬品工業",
            "A999",
        ),
        p("P013", "PPSV23", "ニューモバックスNP", "MSD", "A999999"),
        p(
            "P014",
            "FLU",
            "インフルエンザHAワクチン「第一三共」",
            "第一三共",
            "A999A",
        ),
    ]
}

/// Writes the product table's import CSV (`製品コード,ワクチン,名称,製造販売業者,ロット形式`).
pub fn write_products_csv<W: Write>(
    out: W,
    products: &[SynthProduct],
    encoding: Encoding,
) -> io::Result<W> {
    let mut w = LineWriter::new(out, encoding);
    w.line
        .push_str("製品コード,ワクチン,名称,製造販売業者,ロット形式");
    w.emit()?;
    for p in products {
        push_field(&mut w.line, &p.code);
        push_field(&mut w.line, &p.vaccine);
        push_field(&mut w.line, &p.name);
        push_field(&mut w.line, &p.maker);
        push_field(&mut w.line, &p.lot_format);
        w.emit()?;
    }
    w.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn csv(seed: u64, n: u64, enc: Encoding) -> Vec<u8> {
        write_residents_csv(Vec::new(), &SynthConfig::new(seed), n, enc).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        assert_eq!(csv(7, 2_000, Encoding::Utf8), csv(7, 2_000, Encoding::Utf8));
        assert_eq!(
            csv(7, 2_000, Encoding::Cp932),
            csv(7, 2_000, Encoding::Cp932)
        );
        assert_ne!(csv(7, 2_000, Encoding::Utf8), csv(8, 2_000, Encoding::Utf8));
    }

    #[test]
    fn the_cp932_file_decodes_back_to_the_utf8_file() {
        let utf8 = csv(3, 20_000, Encoding::Utf8);
        let sjis = csv(3, 20_000, Encoding::Cp932);
        assert_ne!(utf8, sjis);
        let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(&sjis);
        assert!(!had_errors);
        assert_eq!(text.as_bytes(), utf8.as_slice());
        // The extension characters survive the round trip.
        let s = String::from_utf8(utf8).unwrap();
        assert!(s.contains('髙') || s.contains('﨑'));
    }

    #[test]
    fn rows_have_the_header_and_eleven_fields() {
        let s = String::from_utf8(csv(1, 500, Encoding::Utf8)).unwrap();
        let mut lines = s.split("\r\n");
        assert_eq!(lines.next(), Some(RESIDENT_HEADER));
        let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 500);
        for row in rows {
            let f: Vec<&str> = row.split(',').collect();
            assert_eq!(f.len(), 11, "{row}");
            assert_eq!(f[0].len(), 10);
            assert!(f[0].bytes().all(|b| b.is_ascii_digit()));
            assert!(f[3] == "1" || f[3] == "2");
            assert!(NaiveDate::parse_from_str(f[4], "%Y-%m-%d").is_ok());
        }
    }

    #[test]
    fn atena_numbers_are_unique_ten_digit_numbers() {
        let mut seen = HashSet::new();
        for i in 0..200_000 {
            let a = atena_no(11, i);
            assert_eq!(a.len(), 10);
            assert!(seen.insert(a), "duplicate at {i}");
        }
    }

    #[test]
    fn distributions_are_near_their_targets() {
        let cfg = SynthConfig::new(42);
        let n = 100_000u64;
        let (mut gaiji, mut restricted, mut outside, mut died, mut moved, mut male) =
            (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
        let mut oldest = cfg.as_of;
        let mut youngest = NaiveDate::MIN;
        for r in residents(cfg, n) {
            if r.gaiji {
                gaiji += 1;
                assert!(
                    r.kanji.contains('髙') || r.kanji.contains('﨑'),
                    "{}",
                    r.kanji
                );
            } else {
                assert!(!r.kanji.contains('髙') && !r.kanji.contains('﨑'));
            }
            restricted += u64::from(r.restricted);
            outside += u64::from(r.outside_register);
            died += u64::from(r.died_on.is_some());
            moved += u64::from(r.moved_out_on.is_some());
            male += u64::from(r.sex == 1);
            oldest = oldest.min(r.birth_date);
            youngest = youngest.max(r.birth_date);
            if let Some(d) = r.died_on {
                assert!(d >= r.birth_date && d <= cfg.as_of);
            }
        }
        assert!((800..=1_200).contains(&gaiji), "外字 {gaiji}");
        assert!((60..=140).contains(&restricted), "閲覧注意 {restricted}");
        assert!((350..=650).contains(&outside), "住登外 {outside}");
        assert!((200..=400).contains(&died), "deceased {died}");
        assert!((350..=650).contains(&moved), "moved out {moved}");
        assert!((48_000..=52_000).contains(&male), "male {male}");
        assert!(cfg.as_of.years_since(oldest).unwrap() >= 99);
        assert!((cfg.as_of - youngest).num_days() < 30);
    }

    #[test]
    fn a_delta_touches_distinct_existing_residents_and_adds_new_ones() {
        let cfg = SynthConfig::new(5);
        let spec = DeltaSpec {
            adds: 30,
            changes: 50,
            removes: 20,
        };
        let rows: Vec<_> = delta_rows(&cfg, 1_000, spec).collect();
        assert_eq!(rows.len(), 100);
        let base: HashSet<String> = residents(cfg, 1_000).map(|r| r.atena_no).collect();
        let mut seen = HashSet::new();
        for (kind, r) in &rows {
            assert!(seen.insert(r.atena_no.clone()));
            match kind {
                DeltaKind::Add => assert!(!base.contains(&r.atena_no)),
                DeltaKind::Change | DeltaKind::Remove => assert!(base.contains(&r.atena_no)),
            }
        }
        assert_eq!(
            rows.iter().filter(|(k, _)| *k == DeltaKind::Change).count(),
            50
        );
        assert_eq!(
            rows.iter().filter(|(k, _)| *k == DeltaKind::Remove).count(),
            20
        );
        let utf8 = write_delta_csv(Vec::new(), &cfg, 1_000, spec, Encoding::Utf8).unwrap();
        let sjis = write_delta_csv(Vec::new(), &cfg, 1_000, spec, Encoding::Cp932).unwrap();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&sjis);
        assert!(!bad);
        assert_eq!(text.as_bytes(), utf8.as_slice());
        assert!(text.starts_with("異動区分,宛名番号,"));
    }

    #[test]
    fn clinic_codes_pass_the_domain_check() {
        let cs = clinics(9, 300);
        let mut seen = HashSet::new();
        for c in &cs {
            sesshu_domain::ids::ClinicCode::parse(&c.code).unwrap();
            assert!(seen.insert(c.code.clone()));
        }
        let out = write_clinics_csv(Vec::new(), &cs, Encoding::Cp932).unwrap();
        assert!(!out.is_empty());
        let out = write_products_csv(Vec::new(), &products(), Encoding::Cp932).unwrap();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&out);
        assert!(!bad);
        assert_eq!(text.lines().count(), products().len() + 1);
    }
}
