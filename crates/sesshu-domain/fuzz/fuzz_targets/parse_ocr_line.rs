//! Fuzzes the 接種券 OCR-line parser: it must never panic, and an accepted line must print back
//! as the same 18 digits and carry a municipality code that passes its check digit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesshu_domain::ids::{MunicipalityCode, TicketOcrLine};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(line) = TicketOcrLine::parse(text) {
        let digits = line.to_digits();
        assert_eq!(digits.len(), 18);
        assert_eq!(TicketOcrLine::parse(&digits).as_ref(), Ok(&line));
        assert!(MunicipalityCode::parse(line.municipality.as_str()).is_ok());
    }
});
