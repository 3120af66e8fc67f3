#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hwcost_fuzz::gguf(data));
