"""Every reader of user input, fed mutated real inputs and random ones: typed or located.

The property (issue 16, item 6): a reader returns its typed result or raises an InputError
(or a subclass) that names a location; never another exception, never a hang (conftest's
per-example guard), and a rejected input leaves nothing written behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fuzz_check import examples, files_in, typed_or_located
from fuzz_inputs import EXAMPLES, SEEDS, mutated, scalars, seed_documents, structures, yaml_texts
from hypothesis import given
from hypothesis import strategies as st

from gpuplane.cluster.load import load_cluster
from gpuplane.cluster.spec import ClusterSpec, parse_cluster_spec
from gpuplane.errors import InputError, Location
from gpuplane.node.config import load_config, parse_config
from gpuplane.node.fake import FakeBackend, parse_inventory
from gpuplane.objects import Manifests, read_api_objects, read_manifests, read_text
from gpuplane.quantity import mebibytes, millicores, parse_quantity, to_bytes, whole
from gpuplane.sharing import DevicePluginConfig
from gpuplane.sim.openb.reader import PodList, openb_nodes, read_openb_pods
from gpuplane.sim.twin.load import Twin, load_twin

MANIFEST_SEEDS = (
    *sorted(EXAMPLES.glob("workloads/**/*.yaml")),
    *sorted(EXAMPLES.glob("sharing/workloads/*.yaml")),
    EXAMPLES / "queueing" / "queues.yaml",
    EXAMPLES / "queueing" / "services.yaml",
    EXAMPLES / "volcano" / "gangs.yaml",
    EXAMPLES / "volcano" / "queues.yaml",
    SEEDS / "manifests.yaml",
)
CLUSTER_SEEDS = (
    EXAMPLES / "cluster.yaml",
    EXAMPLES / "queueing" / "cluster.yaml",
    EXAMPLES / "sharing" / "cluster.yaml",
    SEEDS / "manifests.yaml",
)


def written(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


# -- Kubernetes manifests -----------------------------------------------------------------------


@examples(60)
@given(text=yaml_texts(*MANIFEST_SEEDS))
def test_manifest_text(text: str) -> None:
    typed_or_located(lambda: read_text(text, "m.yaml"), Manifests)


@examples(30)
@given(text=yaml_texts(*MANIFEST_SEEDS))
def test_manifest_files(text: str, tmp_path: Path) -> None:
    path = written(tmp_path / "m.yaml", text)
    before = files_in(tmp_path)
    result = typed_or_located(lambda: read_manifests([path]), Manifests)
    if isinstance(result, InputError):
        assert result.where is not None and result.where.file == str(path), result
    assert files_in(tmp_path) == before


_API_DOCS = [doc for docs in seed_documents(*MANIFEST_SEEDS) for doc in docs if doc]


_TOP_KEYS = st.sampled_from(["apiVersion", "kind", "metadata", "spec"])


@examples(60)
@given(
    objects=mutated(_API_DOCS, max_changes=4)
    | st.lists(st.dictionaries(_TOP_KEYS, structures), max_size=3)
)
def test_api_objects(objects: list[Any]) -> None:
    # An API server hands over mappings; what is inside them is anyone's guess.
    mappings = [obj for obj in objects if isinstance(obj, dict)]
    typed_or_located(lambda: read_api_objects(mappings), Manifests)


# -- cluster specs ------------------------------------------------------------------------------


@examples(40)
@given(text=yaml_texts(*CLUSTER_SEEDS))
def test_cluster_file(text: str, tmp_path: Path) -> None:
    path = written(tmp_path / "cluster.yaml", text)
    typed_or_located(lambda: load_cluster(path), list)


@examples(40)
@given(body=structures | mutated(seed_documents(EXAMPLES / "cluster.yaml")[0]))
def test_cluster_spec_body(body: Any) -> None:
    typed_or_located(lambda: parse_cluster_spec(body, "c.yaml"), ClusterSpec)


# -- twin scenarios -----------------------------------------------------------------------------


@examples(30)
@given(
    which=st.sampled_from(["queueing", "volcano"]),
    text=st.data(),
)
def test_twin_scenario(which: str, text: st.DataObject, tmp_path: Path) -> None:
    folder = tmp_path / which
    if not folder.is_dir():
        shutil.copytree(EXAMPLES / which, folder)
        # The queueing scenario names ../cluster.yaml-like paths only inside its folder.
    scenario = text.draw(yaml_texts(EXAMPLES / which / "scenario.yaml"))
    path = written(folder / "fuzzed.yaml", scenario)
    before = files_in(tmp_path)
    typed_or_located(lambda: load_twin(path), Twin)
    assert files_in(tmp_path) == before


# -- the node agent's inputs --------------------------------------------------------------------


@examples(60)
@given(text=yaml_texts(SEEDS / "inventory.yaml"))
def test_fake_inventory(text: str) -> None:
    typed_or_located(lambda: parse_inventory(text, "inventory.yaml"), tuple)


@examples(20)
@given(text=yaml_texts(SEEDS / "inventory.yaml"))
def test_fake_inventory_reload_keeps_state(text: str, tmp_path: Path) -> None:
    # A running agent whose inventory is edited into something broken keeps what it had.
    path = written(tmp_path / "inventory.yaml", (SEEDS / "inventory.yaml").read_text())
    backend = FakeBackend(path)
    before = (backend.inventory(), backend.wait_events(0.0))
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        parse_inventory(path.read_text(encoding="utf-8"), str(path))
        return  # a valid edit may well change the faults
    except (InputError, UnicodeDecodeError):
        pass
    backend._checked = 0.0
    backend._mtime = -1
    assert backend.wait_events(0.0) == []
    assert backend.inventory() == before[0]


@examples(60)
@given(text=yaml_texts(SEEDS / "plugin-config.yaml"))
def test_device_plugin_config(text: str, tmp_path: Path) -> None:
    typed_or_located(lambda: parse_config(text, "config.yaml"), DevicePluginConfig)
    path = written(tmp_path / "config.yaml", text)
    typed_or_located(lambda: load_config(path), DevicePluginConfig)


# -- quantities ---------------------------------------------------------------------------------

_QUANTITY_TEXT = st.from_regex(r"\A[+-]?[0-9.]{0,30}([eE][+-]?[0-9]{0,6})?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|[a-zA-Z]{0,2})\Z")  # noqa: E501


@examples(200)
@given(value=scalars | structures | _QUANTITY_TEXT)
def test_quantities(value: Any) -> None:
    where = Location("q.yaml", 3, "spec.cpu")
    for read in (parse_quantity, millicores, mebibytes, to_bytes, whole):
        result = typed_or_located(lambda: read(value, where), object)  # noqa: B023
        if isinstance(result, InputError):
            assert result.where == where or str(result.where).startswith("q.yaml:3"), result


# -- openb CSV traces ---------------------------------------------------------------------------

NODES = "sn,cpu_milli,memory_mib,gpu,model\nn0,32000,131072,2,T4\nn1,64000,262144,4,G2\n"
PODS = (
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos\n"
    "t0,2000,4096,1,1000,,LS\nt1,4000,8192,1,500,V100M16|T4,BE\nt2,1000,1024,0,0,,BE\n"
    "t3,8000,16384,2,1000,A10,LS\n"
)


@st.composite
def csv_texts(draw: st.DrawFn, seed: str) -> str:
    rows = [row.split(",") for row in seed.splitlines()]
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.integers(0, len(rows) - 1))
        column = draw(st.integers(0, len(rows[row]) - 1))
        rows[row][column] = str(draw(scalars))
    text = "\n".join(",".join(row) for row in rows) + "\n"
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        junk = draw(st.sampled_from(["", '"', "\x00", "\r", ",", "\n", "\ufeff"]))
        text = text[:at] + junk + text[at:]
    return text


@examples(60)
@given(
    nodes=csv_texts(NODES) | st.text(max_size=80),
    pods=csv_texts(PODS) | st.text(max_size=80),
    junk=st.one_of(st.none(), st.binary(max_size=40)),
    skip_bad=st.booleans(),
)
def test_openb_trace(
    nodes: str, pods: str, junk: bytes | None, skip_bad: bool, tmp_path: Path
) -> None:
    node_file = written(tmp_path / "nodes.csv", nodes)
    pod_file = written(tmp_path / "pods.csv", pods)
    if junk is not None:
        pod_file.write_bytes(pod_file.read_bytes()[:20] + junk)
    typed_or_located(lambda: openb_nodes(node_file), list)
    typed_or_located(lambda: read_openb_pods(pod_file, skip_bad=skip_bad), PodList)


def test_api_object_whose_metadata_is_not_a_mapping() -> None:
    # Found by test_api_objects: naming the object once read metadata.get (AttributeError).
    for metadata in (-1, "x", ["a"]):
        objects = [{"apiVersion": "v1", "kind": "Pod", "metadata": metadata}]
        error = typed_or_located(lambda: read_api_objects(objects), Manifests)  # noqa: B023
        assert isinstance(error, InputError) and "metadata" in str(error), error


def test_openb_trace_not_utf8_or_malformed(tmp_path: Path) -> None:
    # Found by test_openb_trace: a byte that is not UTF-8 raised UnicodeDecodeError, and a
    # field over the csv module's limit csv.Error, from inside the row loop.
    path = tmp_path / "pods.csv"
    path.write_bytes(PODS.encode() + b"t9,1,1,0,0,,\x80\n")
    error = typed_or_located(lambda: read_openb_pods(path), PodList)
    assert isinstance(error, InputError) and "not UTF-8" in str(error)
    assert error.where is not None and error.where.line == 6
    path.write_text(PODS + "t9," + "9" * 200_000 + ",1,0,0,,\n")
    error = typed_or_located(lambda: read_openb_pods(path, skip_bad=True), PodList)
    assert isinstance(error, InputError) and "malformed CSV" in str(error), error


def test_gpus_per_node_are_bounded(tmp_path: Path) -> None:
    # Found by test_openb_trace, test_fake_inventory_reload_keeps_state and by hand from them:
    # 2**31 GPUs on one node hung each reader (labels, sharing and devices are built per GPU).
    nodes = written(tmp_path / "nodes.csv", NODES.replace(",2,T4", ",2147483648,T4"))
    error = typed_or_located(lambda: openb_nodes(nodes), list)
    assert isinstance(error, InputError) and "between 0 and 64" in str(error), error
    inventory = "gpus: [{model: NVIDIA-L4, count: 2147483648}]\n"
    error = typed_or_located(lambda: parse_inventory(inventory, "i.yaml"), tuple)
    assert isinstance(error, InputError) and "i.yaml:1: gpus[0].count" in str(error), error
    inventory = "gpus: [" + ", ".join(["{model: NVIDIA-L4, count: 60}"] * 2) + "]\n"
    error = typed_or_located(lambda: parse_inventory(inventory, "i.yaml"), tuple)
    assert isinstance(error, InputError) and "more than 64 GPUs" in str(error), error
    manifest = (SEEDS / "manifests.yaml").read_text().replace('gpu: "8"', 'gpu: "2147483648"')
    error = typed_or_located(lambda: load_cluster(written(tmp_path / "n.yaml", manifest)), list)
    assert isinstance(error, InputError), error
    assert "status.allocatable.nvidia.com/gpu: 2,147,483,648 GPUs on one node" in str(error)


POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p%s}\nspec: {containers: [{name: c, image: i%s}]}\n"  # noqa: E501


def test_numbers_past_float_and_int_conversion_are_located() -> None:
    # Found by test_manifest_text (nvidia.com/gpu: 1e309) and by hand from it: each was an
    # OverflowError or ValueError, not an InputError.
    big = "9" * 400
    cases = {
        POD % ("", ", resources: {limits: {nvidia.com/gpu: 1e309}}"): "m.yaml:4: spec.containers",
        POD % (", annotations: {gpuplane.io/duration: '" + big + "h'}", ""): "292 years",
        POD % (", annotations: {gpuplane.io/checkpoint-interval: '" + big + "'}", ""): "292 years",
        POD % (", labels: {a: 2024-02-30}", ""): "m.yaml:3: invalid YAML: unreadable value",
        POD % ("", "}], priority: " + "9" * 5000 + ", x: [{"): "m.yaml:4: invalid YAML",
        "9" * 5000: "m.yaml: invalid YAML",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  parallelism: " + big
        + "\n  template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}\n":
        "m.yaml:5: spec.parallelism: must be at most 100,000",
        "apiVersion: kueue.x-k8s.io/v1beta1\nkind: ClusterQueue\nmetadata: {name: q}\nspec:\n"
        "  fairSharing: {weight: 1e400}\n  resourceGroups: []\n":
        "m.yaml:5: spec.fairSharing.weight: must be at most",
    }  # fmt: skip
    for text, expected in cases.items():
        error = typed_or_located(lambda: read_text(text, "m.yaml"), Manifests)  # noqa: B023
        assert isinstance(error, InputError) and expected in str(error), (expected, error)
