"""Checkpoints: weights, optimizer, step, learning rate and every RNG state (python, torch, CUDA, the
sampling generator), so a resumed run continues exactly. Layout (PROTOCOL.md, ``save``): ``model/``,
``trainer_state.pt`` (tensors), ``checkpoint.json`` (the rest)."""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from typing import Callable

import torch

FORMAT = "serl-worker-checkpoint"
VERSION = 1
MANIFEST_FILE = "checkpoint.json"
STATE_FILE = "trainer_state.pt"
MODEL_DIR = "model"


def save(
    directory: str,
    model_kind: str,
    save_weights: Callable[[str], None],
    optimizer: torch.optim.Optimizer,
    step: int,
    generator: torch.Generator,
) -> None:
    """Writes the checkpoint beside ``directory`` and renames it into place: a crash mid-way leaves the
    previous checkpoint (if any) or nothing, never a half-written one under ``directory``.

    Tensors go to ``trainer_state.pt`` and everything else to ``checkpoint.json``, so loading needs no
    pickle of arbitrary objects (``torch.load(weights_only=True)``)."""
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{os.path.basename(directory)}.", suffix=".partial", dir=parent)
    try:
        save_weights(os.path.join(staging, MODEL_DIR))
        optimizer_state = optimizer.state_dict()
        tensors = {
            "optimizer_state": optimizer_state["state"],
            "torch_rng": torch.get_rng_state(),
            "sampler_rng": generator.get_state(),
        }
        if torch.cuda.is_available():
            tensors["cuda_rng"] = torch.cuda.get_rng_state_all()
        torch.save(tensors, os.path.join(staging, STATE_FILE))
        version, python_state, gauss_next = random.getstate()
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "model_kind": model_kind,
            "step": step,
            "optimizer_param_groups": optimizer_state["param_groups"],
            "python_rng": [version, list(python_state), gauss_next],
        }
        with open(os.path.join(staging, MANIFEST_FILE), "w", encoding="utf-8") as file:
            json.dump(manifest, file)
        if os.path.exists(directory):
            retired = staging + ".old"
            os.rename(directory, retired)
            os.rename(staging, directory)
            shutil.rmtree(retired)
        else:
            os.rename(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


class CheckpointMismatch(ValueError):
    """The directory is not a checkpoint of this model."""


def read_manifest(directory: str, model_kind: str) -> dict:
    path = os.path.join(directory, MANIFEST_FILE)
    if not os.path.isfile(path):
        raise CheckpointMismatch(f"{directory} is not a worker checkpoint (no {MANIFEST_FILE})")
    with open(path, encoding="utf-8") as file:
        try:
            manifest = json.load(file)
        except ValueError as error:
            raise CheckpointMismatch(f"{path}: not JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointMismatch(f"{path}: not a worker checkpoint manifest")
    if manifest.get("version") != VERSION:
        raise CheckpointMismatch(f"{path}: checkpoint version {manifest.get('version')!r}, this worker reads {VERSION}")
    if manifest.get("model_kind") != model_kind:
        raise CheckpointMismatch(f"{path}: a checkpoint of a {manifest.get('model_kind')!r} model, not {model_kind!r}")
    missing = [key for key in ("step", "optimizer_param_groups", "python_rng") if key not in manifest]
    if missing:
        raise CheckpointMismatch(f"{path}: missing {', '.join(missing)}")
    return manifest


def load(
    directory: str,
    model_kind: str,
    load_weights: Callable[[str], None],
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> int:
    """Restores weights, optimizer and RNG states; returns the step."""
    manifest = read_manifest(directory, model_kind)
    tensors = torch.load(os.path.join(directory, STATE_FILE), map_location="cpu", weights_only=True)
    load_weights(os.path.join(directory, MODEL_DIR))
    optimizer.load_state_dict({"state": tensors["optimizer_state"], "param_groups": manifest["optimizer_param_groups"]})
    version, python_state, gauss_next = manifest["python_rng"]
    random.setstate((version, tuple(python_state), gauss_next))
    torch.set_rng_state(tensors["torch_rng"])
    generator.set_state(tensors["sampler_rng"])
    if "cuda_rng" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(tensors["cuda_rng"])
    return int(manifest["step"])
