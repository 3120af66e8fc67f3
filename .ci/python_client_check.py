"""Calls a running hwcost server through the Python client generated from openapi/openapi.json.

Usage: python python_client_check.py http://127.0.0.1:PORT

Every call goes through a generated `sync_detailed` function; request bodies are built from the
generated models, and each 200 answer must parse into the generated response model, keep its
typed fields, and turn back into exactly the JSON the server sent (so no field is dropped or
mistyped by the document). Prints one line per call; exits 1 on any failure.
"""

import json
import sys
import traceback

from hwcost_client import Client
from hwcost_client.api.catalog import (
    get_hardware,
    get_model,
    get_model_parameters,
    list_hardware,
    list_models,
)
from hwcost_client.api.estimates import estimate_inference, estimate_training
from hwcost_client.api.host import describe_host
from hwcost_client.api.operations import healthz, readyz
from hwcost_client.api.validation import get_validation_report
from hwcost_client.models import (
    DeviceList,
    DeviceRecord,
    EngineId,
    FormatId,
    Health,
    HostDescription,
    InferenceRequest,
    InferenceResponse,
    Kind,
    ModelList,
    ModelDetail,
    ParallelismBody,
    ParameterAnatomy,
    Problem,
    Readiness,
    Report,
    ShardingId,
    TrainingRequest,
    TrainingResponse,
)

INFERENCE_BODY = {
    "model": "llama-3.1-70b",
    "hardware": "nvidia-h100-sxm-80gb",
    "devices": 4,
    "parallelism": {"tensor": 4},
    "weights": "fp8",
    "batch_size": 32,
    "input_tokens": 2048,
    "output_tokens": 256,
    "engine": "tensorrt-llm",
}
TRAINING_BODY = {
    "model": "llama-2-7b",
    "hardware": "nvidia-a100-sxm4-80gb",
    "devices": 64,
    "tokens": 2e12,
    "sharding": "zero1",
}


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def call(name, function, model, status=200, **kwargs):
    """One generated call: the status, the parsed model, and (for 200) a lossless round trip."""
    response = function.sync_detailed(client=CLIENT, **kwargs)
    expect(
        response.status_code == status,
        f"status {int(response.status_code)}, expected {status}: {response.content[:300]!r}",
    )
    parsed = response.parsed
    expect(parsed is not None, "no parsed body")
    expect(isinstance(parsed, model), f"parsed as {type(parsed).__name__}, expected {model.__name__}")
    if status == 200:
        sent = json.loads(response.content)
        back = parsed.to_dict()
        expect(back == sent, f"{model.__name__}.to_dict() differs from the JSON the server sent")
    return parsed


def check(label, body):
    global failures
    try:
        detail = body()
        print(f"ok    {label}: {detail}")
    except Exception as error:  # noqa: BLE001 - every failure is reported, then the next call runs
        failures += 1
        print(f"FAIL  {label}: {type(error).__name__}: {error}")
        if not isinstance(error, Failure):
            traceback.print_exc(limit=3)


def do_healthz():
    health = call("healthz", healthz, Health)
    expect(health.status == "ok", f"status {health.status!r}")
    return f"status={health.status}"


def do_readyz():
    ready = call("readyz", readyz, Readiness)
    expect(ready.status == "ready", f"status {ready.status!r}")
    expect(isinstance(ready.version, str) and ready.version, "no version")
    return f"status={ready.status} version={ready.version}"


def do_list_hardware():
    devices = call("list_hardware", list_hardware, DeviceList, vendor="nvidia", kind=Kind.GPU, min_memory_gib=80.0)
    expect(devices.count == len(devices.items) and devices.count > 0, f"count {devices.count}")
    for item in devices.items:
        expect(item.vendor == "nvidia" and item.kind == Kind.GPU and item.memory_bytes >= 80 * 2**30, f"filter missed {item.id}")
    return f"{devices.count} nvidia GPUs with >= 80 GiB"


def do_get_hardware():
    device = call("get_hardware", get_hardware, DeviceRecord, id="nvidia-h100-sxm-80gb")
    expect(device.id == "nvidia-h100-sxm-80gb", f"id {device.id}")
    expect(isinstance(device.memory_gib, (int, float)) and device.memory_gib > 0, "memory_gib")
    expect(isinstance(device.kind, Kind), f"kind is {type(device.kind).__name__}")
    return f"{device.name}, {device.memory_gib} GiB, {device.memory_bandwidth_gb_per_s} GB/s"


def do_get_hardware_404():
    problem = call("get_hardware", get_hardware, Problem, status=404, id="no-such-device")
    expect(problem.status == 404, f"problem status {problem.status}")
    return f"404 {problem.code}: {problem.title}"


def do_list_models():
    models = call("list_models", list_models, ModelList)
    expect(models.count == len(models.items) and models.count > 0, f"count {models.count}")
    expect(all(isinstance(item.moe, bool) for item in models.items), "moe is not a bool")
    page = call("list_models", list_models, ModelList, limit=10)
    expect(page.count == 10 and page.total == models.total and isinstance(page.next_cursor, str), "paging")
    return f"{models.count} models, pages of 10 with a cursor"


def do_get_model():
    detail = call("get_model", get_model, ModelDetail, id="llama-2-7b")
    # The record's fields sit at the top level, as a device's do.
    expect(detail.id == "llama-2-7b", f"id {detail.id}")
    expect(isinstance(detail.total_parameters, int) and detail.total_parameters > 6e9, "total_parameters")
    return f"{detail.name} ({detail.nominal_size}), total_parameters={detail.total_parameters}"


def do_get_model_parameters():
    anatomy = call("get_model_parameters", get_model_parameters, ParameterAnatomy, id="gpt2")
    expect(isinstance(anatomy.total_parameters, int) and anatomy.total_parameters > 0, "total_parameters")
    expect(len(anatomy.bytes_by_format) > 0, "no bytes_by_format")
    return f"total_parameters={anatomy.total_parameters}"


def do_get_validation_report():
    report = call("get_validation_report", get_validation_report, Report)
    expect(len(report.points) > 0 and len(report.families) > 0, "empty report")
    return f"{len(report.points)} points, {len(report.families)} families"


def do_describe_host():
    host = call("describe_host", describe_host, HostDescription)
    expect(host.logical_cpus > 0 and host.total_memory_bytes > 0, "host figures")
    return f"{host.cpu_brand.strip()}, {host.logical_cpus} logical CPUs"


def do_estimate_inference():
    request = InferenceRequest(
        model="llama-3.1-70b",
        hardware="nvidia-h100-sxm-80gb",
        devices=4,
        parallelism=ParallelismBody(tensor=4),
        weights=FormatId.FP8,
        batch_size=32,
        input_tokens=2048,
        output_tokens=256,
        engine=EngineId.TENSORRT_LLM,
    )
    expect(request.to_dict() == INFERENCE_BODY, f"request body {request.to_dict()}")
    answer = call("estimate_inference", estimate_inference, InferenceResponse, body=request)
    expect(isinstance(answer.memory.fits, bool), f"memory.fits is {type(answer.memory.fits).__name__}")
    expect(answer.error_band.status == "measured", f"error_band.status {answer.error_band.status!r}")
    expect(answer.latency.ttft_ms > 0 and answer.latency.tpot_ms > 0, "latency")
    expect(answer.devices == 4 and answer.parallelism.tensor == 4, "layout")
    return (
        f"fits={answer.memory.fits} ttft_ms={answer.latency.ttft_ms:.1f} "
        f"tpot_ms={answer.latency.tpot_ms:.2f} error_band={answer.error_band.status}"
    )


def do_estimate_inference_not_fitting():
    request = InferenceRequest(model="llama-3.1-405b", hardware="nvidia-rtx-4090")
    answer = call("estimate_inference", estimate_inference, InferenceResponse, body=request)
    expect(answer.verdict == "does_not_fit", f"verdict {answer.verdict!r}")
    expect("GB per device" in answer.not_run.reason, f"reason {answer.not_run.reason!r}")
    expect(answer.latency is None and answer.throughput is None, "running sections are None")
    expect(answer.cost is None and answer.energy is None, "cost and energy are None")
    expect(answer.warnings[0].code == "does-not-fit", f"first warning {answer.warnings[0].code!r}")
    return f"verdict={answer.verdict} left_out={answer.not_run.left_out}"


def do_estimate_training():
    request = TrainingRequest(
        model="llama-2-7b",
        hardware="nvidia-a100-sxm4-80gb",
        devices=64,
        tokens=2e12,
        sharding=ShardingId.ZERO1,
    )
    expect(request.to_dict() == TRAINING_BODY, f"request body {request.to_dict()}")
    answer = call("estimate_training", estimate_training, TrainingResponse, body=request)
    expect(answer.time.gpu_hours > 0 and answer.time.wall_clock_days > 0, "time")
    expect(answer.time.device_hours == answer.time.gpu_hours, "device_hours")
    expect(answer.devices == 64, f"devices {answer.devices}")
    return f"gpu_hours={answer.time.gpu_hours:.0f} wall_clock_days={answer.time.wall_clock_days:.1f}"


if __name__ == "__main__":
    CLIENT = Client(base_url=sys.argv[1], raise_on_unexpected_status=True, timeout=30.0)
    failures = 0
    check("healthz", do_healthz)
    check("readyz", do_readyz)
    check("list_hardware vendor=nvidia kind=gpu min_memory_gib=80", do_list_hardware)
    check("get_hardware nvidia-h100-sxm-80gb", do_get_hardware)
    check("get_hardware no-such-device (404)", do_get_hardware_404)
    check("list_models", do_list_models)
    check("get_model llama-2-7b", do_get_model)
    check("get_model_parameters gpt2", do_get_model_parameters)
    check("get_validation_report", do_get_validation_report)
    check("describe_host", do_describe_host)
    check("estimate_inference llama-3.1-70b on 4 x H100", do_estimate_inference)
    check("estimate_inference llama-3.1-405b on one RTX 4090 (does not fit)", do_estimate_inference_not_fitting)
    check("estimate_training llama-2-7b on 64 x A100", do_estimate_training)
    print(f"python client: {13 - failures} ok, {failures} failed")
    sys.exit(1 if failures else 0)
