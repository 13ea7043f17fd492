"""Bibliographic metadata of the papers mthub implements, in one place (model cards cite them).

Each model family refers to its entry by key (``ModelFamily.paper = PAPERS["egot2"]``); families that share a paper
(EgoT2 and its Ego4D task-specific models) share one entry.
"""

from __future__ import annotations

PAPERS: dict[str, dict[str, str]] = {
    "egot2": {
        "title": "Egocentric Video Task Translation",
        "authors": "Zihui Xue, Yale Song, Kristen Grauman, Lorenzo Torresani",
        "venue": "CVPR 2023",
        "url": "https://arxiv.org/abs/2212.06301",
        "bibtex": (
            "@inproceedings{xue2023egot2,\n  title={Egocentric Video Task Translation},\n  author={Xue, Zihui and Song, "
            "Yale and Grauman, Kristen and Torresani, Lorenzo},\n  booktitle={CVPR},\n  year={2023}\n}"
        ),
    },
    "tif": {
        "title": "Task-Interaction-Free Multi-Task Learning with Efficient Hierarchical Feature Representation",
        "authors": "anonymous",
        "venue": "ACM MM 2024 submission (anonymous); no official code",
        "url": "",
    },
    "pvit": {
        "title": "PromptonomyViT: Multi-Task Prompt Learning Improves Video Transformers using Synthetic Scene Data",
        "authors": "Roei Herzig, Ofir Abramovich, Elad Ben-Avraham, Assaf Arbelle, Leonid Karlinsky, Ariel Shamir, "
        "Trevor Darrell, Amir Globerson",
        "venue": "WACV 2024",
        "url": "https://arxiv.org/abs/2212.04821",
    },
    "mila": {
        "title": "MILA: Multi-Task Learning from Videos via Efficient Inter-Frame Attention",
        "authors": "Donghyun Kim, Tian Lan, Chuhan Zou, Ning Xu, Bryan A. Plummer, Stan Sclaroff, Jayan Eledath, "
        "Gerard Medioni",
        "venue": "ICCV Workshops 2021",
        "url": "https://arxiv.org/abs/2002.07362",
    },
    "efficient_mtl": {
        "title": "Efficient Computation Sharing for Multi-Task Visual Scene Understanding",
        "authors": "Sara Shoouri, Mingyu Yang, Zichen Fan, Hun-Seok Kim",
        "venue": "ICCV 2023",
        "url": "https://arxiv.org/abs/2303.09663",
    },
}

__all__ = ["PAPERS"]
