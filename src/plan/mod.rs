//! Decisions from estimates: capacity checks against requirements ([`rules`]) and the search
//! for the best deployment ([`search`]), plus the self-hosting break-even ([`breakeven`]).
//!
//! Pure like the engine: typed inputs in, numbers out, no I/O. The API turns requests into
//! these inputs and the outputs into responses.

pub mod breakeven;
pub mod rules;
pub mod search;
