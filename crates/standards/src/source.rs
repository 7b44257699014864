//! Citations carried by every data table.

/// How sure the reference research is about a table (see `standards.md` §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Confidence {
    /// A single weak source.
    Low,
    /// One good source, or memory with partial corroboration.
    Medium,
    /// Primary text read and/or two or more independent sources agree.
    High,
}

/// Where a table or rule comes from: standard number and table/clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source {
    /// Standard or document number, e.g. `"HJ 633-2012"`.
    pub standard: &'static str,
    /// Table or clause inside it, e.g. `"Table 1"`.
    pub clause: &'static str,
    /// Confidence of the numbers as researched.
    pub confidence: Confidence,
    /// Anything the user of the number must know (unverified parts, decisions).
    pub note: &'static str,
}

impl Source {
    /// A source read from the primary text (high confidence) with no note.
    pub const fn primary(standard: &'static str, clause: &'static str) -> Source {
        Source {
            standard,
            clause,
            confidence: Confidence::High,
            note: "",
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.standard, self.clause)
    }
}
