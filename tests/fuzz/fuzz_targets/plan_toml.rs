#![no_main]

libfuzzer_sys::fuzz_target!(init: hwcost_fuzz::init(), |data: &[u8]| hwcost_fuzz::plan_toml(data));

libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    hwcost_fuzz::mutate::toml(data, size, max_size, seed)
});
