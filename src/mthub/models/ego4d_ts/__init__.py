"""``mthub_ego4d_ts`` — the Ego4D task-specific (TS) baselines that EgoT2 (Xue et al., CVPR 2023) freezes in stage
II, as one family with one preset per task (spec ``shared/specs/egot2.md`` §2.1; parameter counts of Tables 2/3).

``reported`` holds the paper's TS-model rows (val): metrics under the keys of :mod:`mthub.metrics.ego4d`
(``pnr/localization_error_s``, ``oscc/accuracy``, ``action_verb/top1`` …) and ``params_M`` (trainable; LTA also
``params_total_M``). The ASD number is TalkNet's *frame accuracy*: Table 3 heads it "mAP", Table 5 "Acc.", and the
code computes frame accuracy.
"""

from __future__ import annotations

import torch

from ...backbones.ego4d.tiny_configs import TINY_TS_TASKS, tiny_ts_overrides
from ...papers import PAPERS
from ...registry import ModelFamily, Preset
from .configuration_ego4d_ts import EGO4D_TASKS, Ego4DTSConfig, ego4d_ts_tasks
from .loading_ego4d_ts import load_example
from .modeling_ego4d_ts import (
    Ego4DTSModel,
    Ego4DTSOutput,
    Ego4DTSPreTrainedModel,
    build_ego4d_ts_net,
    keyframe_bce_loss,
    slow_pathway_indices,
)
from .processing_ego4d_ts import (
    VIDEO_SETTINGS,
    Ego4DTSAudioFeatureExtractor,
    Ego4DTSProcessor,
    Ego4DTSVideoProcessor,
)
from .sampling_ego4d_ts import (
    center_clip_window,
    crop_resize,
    interpolate_track,
    lam_frame_window,
    pnr_frame_numbers,
    rms_normalize,
    talknet_face_crops,
    talknet_mfcc,
    uniform_temporal_indices,
)

PAPER = "egot2"
PAPER_METADATA = PAPERS[PAPER]

#: Sizes of the tiny test configs (seconds on CPU for forward + backward): 5 verbs / 7 nouns for AR and LTA.
TINY_OVERRIDES: dict[str, dict] = {task: tiny_ts_overrides(task, num_verbs=5, num_nouns=7) for task in TINY_TS_TASKS}

#: Frames of TTM/ASD example inputs when the config names none (their segments vary in length).
_EXAMPLE_FRAMES = 4


def tiny_ego4d_ts_config(ego4d_task: str = "ttm", **overrides) -> Ego4DTSConfig:
    """A randomly initialisable tiny config of one TS model (for tests)."""
    return Ego4DTSConfig(ego4d_task=ego4d_task, **{**TINY_OVERRIDES[ego4d_task], **overrides})


def example_inputs(config: Ego4DTSConfig, batch_size: int = 2) -> dict[str, torch.Tensor]:
    """Random model inputs in the shapes :class:`Ego4DTSModel` documents for ``config.ego4d_task``."""
    task, size = config.ego4d_task, config.image_size
    frames = config.num_frames or _EXAMPLE_FRAMES
    if task in ("pnr", "oscc"):
        return {"pixel_values": torch.rand(batch_size, frames, 3, size, size) * 255}
    if task == "lta":
        return {"pixel_values": torch.randn(batch_size, config.num_input_clips, frames, 3, size, size)}
    if task in ("ar", "lam"):
        return {"pixel_values": torch.randn(batch_size, frames, 3, size, size)}
    if task == "ttm":
        samples = frames * config.sample_rate // 30  # the segment's audio: frames at 30 fps
        return {"pixel_values": torch.randn(batch_size, frames, 3, size, size), "input_values": 0.1 * torch.randn(batch_size, samples)}
    return {"pixel_values": torch.rand(batch_size, frames, size, size) * 255, "input_features": torch.randn(batch_size, 4 * frames, 13)}


def example_labels(config: Ego4DTSConfig, batch_size: int = 2) -> dict[str, torch.Tensor]:
    """Random labels of every task of ``config`` (PNR: one clip without a state change, label ``-100``)."""
    task = config.ego4d_task
    frames = config.num_frames or _EXAMPLE_FRAMES
    if task == "pnr":
        labels = torch.randint(0, frames, (batch_size,))
        labels[-1] = -100
        return {"pnr": labels}
    if task == "ar":
        return {"action_verb": torch.randint(0, config.num_verbs, (batch_size,)), "action_noun": torch.randint(0, config.num_nouns, (batch_size,))}
    if task == "lta":
        shape = (batch_size, config.num_future)
        return {"lta_verb": torch.randint(0, config.num_verbs, shape), "lta_noun": torch.randint(0, config.num_nouns, shape)}
    if task == "asd":
        return {"asd": torch.randint(0, 2, (batch_size, frames))}
    return {task: torch.randint(0, 2, (batch_size,))}


FAMILY = ModelFamily(
    model_type=Ego4DTSConfig.model_type,
    config_class=Ego4DTSConfig,
    model_classes={"AutoModel": Ego4DTSModel},
    processor_class=Ego4DTSVideoProcessor,
    processor_auto_class="AutoVideoProcessor",
    pipeline_tasks=(),
    tiny_config=tiny_ego4d_ts_config,
    example_inputs=example_inputs,
    example_labels=example_labels,
    description="The Ego4D task-specific baselines of EgoT2 stage I (PNR, OSCC, AR, LTA, LAM, TTM, ASD).",
    paper=PAPER_METADATA,
)

_LICENSE = "cc-by-nc-sa-4.0"
_WEIGHTS_NOTE = (
    "Weights: the Ego4D baseline checkpoints as redistributed by EgoT2 (pretrained_models/, CC BY-NC-SA 4.0); the "
    "baseline code is MIT and the training data is under the Ego4D licence agreement. Convert with "
    "`python conversion/convert_ego4d_ts.py`."
)


def _preset(name: str, task: str, description: str, reported: dict, input_size: dict, datasets: tuple, notes: tuple = ()) -> Preset:
    # TTM/ASD take segments of any length: their num_frames is the example length of cost reports (input_size)
    config = {"ego4d_task": task, **({"num_frames": input_size["num_frames"]} if task in ("ttm", "asd") else {})}
    return Preset(
        name=name,
        family=Ego4DTSConfig.model_type,
        config=config,
        description=description,
        paper=PAPER,
        input_size=input_size,
        datasets=datasets,
        reported=reported,
        license=_LICENSE,
        notes=(*notes, _WEIGHTS_NOTE),
    )


PRESETS = (
    _preset(
        "ego4d-pnr-i3d-r50",
        "pnr",
        "Ego4D PNR keyframe localisation baseline: I3D ResNet-50 (slow_layer5), 16 frames of 225² (Tables 1–2).",
        {"pnr/localization_error_s": 0.615, "params_M": 32.2},
        {"num_frames": 16, "height": 225, "width": 225},
        ("ego4d_fho_oscc_pnr",),
        ("Inputs are raw 0–255 RGB (no mean/std), resized to 225² without cropping, as the official loader.",),
    ),
    _preset(
        "ego4d-oscc-i3d-r50",
        "oscc",
        "Ego4D object state change classification baseline: I3D ResNet-50 (slow_layer5) (Tables 1–2).",
        {"oscc/accuracy": 68.22, "params_M": 32.2},
        {"num_frames": 16, "height": 225, "width": 225},
        ("ego4d_fho_oscc_pnr",),
        ("Same backbone as PNR with its own weights; the head pools all 16 frames.",),
    ),
    _preset(
        "ego4d-ar-slowfast-r101",
        "ar",
        "Ego4D action recognition baseline: SlowFast 8×8 R101, verb (115) and noun (478) heads (Tables 1–2).",
        {"action_verb/top1": 22.18, "action_noun/top1": 21.55, "params_M": 63.3},
        {"num_frames": 32, "height": 224, "width": 224},
        ("ego4d_fho_ar",),
        ("32 frames at sampling rate 2 (2.13 s at 30 fps) centred in the action clip; slow pathway = 8 of them.",),
    ),
    _preset(
        "ego4d-lta-slowfast",
        "lta",
        "Ego4D long-term anticipation baseline: SlowFast 8×8 R101 clip encoder + 6-layer transformer aggregator + "
        "20 verb/noun heads, 2 observed clips (Tables 1–2).",
        {"lta_verb/ED@20": 0.746, "lta_noun/ED@20": 0.789, "params_M": 180.0, "params_total_M": 242.0},
        {"num_clips": 2, "num_frames": 32, "height": 224, "width": 224},
        ("ego4d_fho_lta",),
        ("The SlowFast body is frozen (MODEL.FREEZE_BACKBONE): 180 M of the 242 M parameters are trained.",
         "ED@20 is the min over K=5 sampled sequences of the Levenshtein distance / 20."),
    ),
    _preset(
        "ego4d-lam-resnet18-bilstm",
        "lam",
        "Ego4D looking-at-me baseline: per-frame ResNet-18 + 2-layer BiLSTM over 7 face crops (Table 5 TS row).",
        {"lam/mAP": 77.79, "params_M": 14.6},
        {"num_frames": 7, "height": 224, "width": 224},
        ("ego4d_social",),
        ("The paper's '3D RN-18' is a 2D ResNet-18 applied per frame + BiLSTM in the released model.",),
    ),
    _preset(
        "ego4d-ttm-resnet18-resnetse",
        "ttm",
        "Ego4D talking-to-me baseline: per-frame ResNet-18 + BiLSTM face branch and ResNetSE audio branch (Tables 1, 3).",
        {"ttm/mAP": 58.91, "params_M": 20.2},
        {"num_frames": 90, "height": 224, "width": 224},
        ("ego4d_social",),
        ("The paper's '3D RN-18, A&V' is a per-frame 2D ResNet-18 + BiLSTM (video) and a ResNetSE (audio).",
         "Cross-entropy class weights [0.266, 0.734]."),
    ),
    _preset(
        "ego4d-asd-talknet",
        "asd",
        "Ego4D active speaker detection baseline: TalkNet (Tables 1, 3).",
        {"asd/frame_accuracy": 79.05, "params_M": 15.7},
        {"num_frames": 100, "height": 112, "width": 112},
        ("ego4d_av",),
        (
            (
                "The paper reports 79.05 as 'mAP' in Table 3 and as 'Acc.' in Table 5; the official code computes "
                "frame accuracy (round(softmax)[1] == label), which is what this number is."
            ),
            "Loss: frame CE (weights [1, 4]) + 0.4·(audio-only + visual-only CE).",
        ),
    ),
)

__all__ = [
    "EGO4D_TASKS",
    "FAMILY",
    "PAPER_METADATA",
    "PRESETS",
    "TINY_OVERRIDES",
    "VIDEO_SETTINGS",
    "Ego4DTSAudioFeatureExtractor",
    "Ego4DTSConfig",
    "Ego4DTSModel",
    "Ego4DTSOutput",
    "Ego4DTSPreTrainedModel",
    "Ego4DTSProcessor",
    "Ego4DTSVideoProcessor",
    "build_ego4d_ts_net",
    "center_clip_window",
    "crop_resize",
    "ego4d_ts_tasks",
    "example_inputs",
    "example_labels",
    "interpolate_track",
    "keyframe_bce_loss",
    "lam_frame_window",
    "load_example",
    "pnr_frame_numbers",
    "rms_normalize",
    "slow_pathway_indices",
    "talknet_face_crops",
    "talknet_mfcc",
    "tiny_ego4d_ts_config",
    "uniform_temporal_indices",
]
