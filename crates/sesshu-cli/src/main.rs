//! `sesshu`: command-line access to the domain rules for IT staff and scripted checks.

fn main() {
    std::process::exit(2);
}
