//! Id and alias resolution with "did you mean" suggestions.

use std::collections::HashMap;

/// Maps lowercase ids and aliases to entry positions.
#[derive(Debug, Clone, Default)]
pub struct Index {
    names: HashMap<String, usize>,
    ids: Vec<String>,
}

fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

impl Index {
    /// Builds the index; fails when two entries claim the same name.
    pub fn build<'a, A: AsRef<[String]> + 'a>(entries: impl Iterator<Item = (&'a str, A)>) -> Result<Self, String> {
        let mut index = Index::default();
        for (position, (id, aliases)) in entries.enumerate() {
            index.ids.push(id.to_owned());
            let mut add = |name: &str| -> Result<(), String> {
                let key = normalise(name);
                match index.names.insert(key.clone(), position) {
                    Some(other) if other != position => {
                        Err(format!("\"{key}\" names both {} and {id}", index.ids[other]))
                    }
                    _ => Ok(()),
                }
            };
            if id != normalise(id) {
                return Err(format!("id \"{id}\" must be lowercase without surrounding spaces"));
            }
            add(id)?;
            for alias in aliases.as_ref() {
                add(alias)?;
            }
        }
        Ok(index)
    }

    /// The position of the entry named `name`, or up to three close ids, best first.
    pub fn resolve(&self, name: &str) -> Result<usize, Vec<String>> {
        let key = normalise(name);
        if let Some(&position) = self.names.get(&key) {
            return Ok(position);
        }
        Err(self.suggest(&key))
    }

    fn suggest(&self, key: &str) -> Vec<String> {
        if key.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(usize, &str)> = self
            .names
            .iter()
            .filter_map(|(name, &position)| {
                let id = self.ids.get(position)?;
                // Names containing the query first ("h100" -> every H100), then small edit
                // distances (typos, a missing vendor prefix).
                let score = if name.contains(key) {
                    name.len().abs_diff(key.len()) / 8
                } else {
                    let distance = edit_distance(key, name);
                    if distance > key.len().max(3) / 3 {
                        return None;
                    }
                    distance + 4
                };
                Some((score, id.as_str()))
            })
            .collect();
        scored.sort();
        let mut out: Vec<String> = Vec::new();
        for (_, id) in scored {
            if !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
            if out.len() == 3 {
                break;
            }
        }
        out
    }
}

/// Levenshtein distance over bytes, bounded inputs (ids are short).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 256 || b.len() > 256 {
        return usize::MAX / 2;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index {
        let entries = [
            ("nvidia-h100-sxm-80gb", vec!["h100-sxm".to_owned()]),
            ("nvidia-h100-pcie-80gb", vec![]),
            ("nvidia-a100-sxm4-80gb", vec![]),
        ];
        Index::build(entries.iter().map(|(id, a)| (*id, a.clone()))).unwrap()
    }

    #[test]
    fn resolves_ids_and_aliases_case_insensitively() {
        let i = index();
        assert_eq!(i.resolve("NVIDIA-H100-SXM-80GB"), Ok(0));
        assert_eq!(i.resolve("h100-sxm"), Ok(0));
    }

    #[test]
    fn suggests_substring_and_typo_matches() {
        let i = index();
        let s = i.resolve("h100").unwrap_err();
        assert!(s.contains(&"nvidia-h100-sxm-80gb".to_owned()) && s.contains(&"nvidia-h100-pcie-80gb".to_owned()));
        assert_eq!(i.resolve("nvidia-a100-sxm4-80g").unwrap_err()[0], "nvidia-a100-sxm4-80gb");
        assert!(i.resolve("zzzzzzzz").unwrap_err().is_empty());
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let entries = [("a", vec!["x".to_owned()]), ("b", vec!["x".to_owned()])];
        assert!(Index::build(entries.iter().map(|(id, a)| (*id, a.clone()))).is_err());
    }
}
