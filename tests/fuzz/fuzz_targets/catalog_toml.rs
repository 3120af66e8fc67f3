#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hwcost_fuzz::catalog_toml(data));

// The first byte picks the kind of catalog file; the mutator keeps it and edits the TOML.
libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    hwcost_fuzz::mutate::toml_after(1, data, size, max_size, seed)
});
