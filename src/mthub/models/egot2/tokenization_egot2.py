"""EgoT2-g's vocabulary and tokenizer (paper A.2.2 "Tokenization and Detokenization"; spec §2.3).

Every label becomes one token: PNR keyframe → its digit ``"0"``–``"15"``; OSCC → ``"True"``/``"False"``; AR/LTA →
the verb or noun word; LAM/TTM/ASD → ``"0"``/``"1"`` (the official HHI vocabulary; the paper says True/False).
Task prompts are tokens too. A sequence is ``[prompt, label, </s>]``.

Official vocabularies (reproduced exactly, index order included):

* HHI (V = 7): ``['</s>', '<unk>', 'ttm', 'lam', 'asd', '0', '1']`` (torchtext ``vocab`` with the two specials
  first).
* HOI (V = 601, or 619 with ``dedupe_vocab=False``): ``['pnr', 'oscc', 'action_verb', 'action_noun', 'lta_verb',
  'lta_noun', 'True', 'False', '</s>', '<unk>', '0'…'15', 115 verbs, 478 nouns]``. A verb/noun word is the
  taxonomy name before ``(`` with ``_`` removed; eight colliding nouns are renamed (``bat_sports``, ``bat_tool``,
  ``chip_food``, ``chip_wood'``, ``chip_wood``, ``nut_food``, ``nut_tool``, ``pot_planter``). The official builder
  feeds the list to ``vocab(OrderedDict(...))``, which keeps the first occurrence of every string: the 18 words
  that are both a verb and a noun (crochet, drill, …) share one token, V = 601. ``dedupe_vocab=False`` keeps verb and
  noun tokens apart (``dedupe_vocab=False``: V = 619; the noun copy of a shared word is spelled ``noun:<word>``).
* P&O (V = 22): ``['pnr', 'oscc', 'True', 'False', '</s>', '<unk>', '0'…'15']``; cross-cluster PNR/OSCC/LAM
  (V = 23): the same with ``'lam'`` after ``'oscc'`` (LAM labels as ``True``/``False`` [I]).

Within one task every class has its own token, so encoding then decoding a label is the identity even when a
verb and a noun share a token. The tokenizer is built from the taxonomy once and saved as ``vocab.json``; loading
it never needs the taxonomy file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

__all__ = ["VOCAB_FILE", "EgoT2Tokenizer", "clean_label_name", "hoi_label_words"]

VOCAB_FILE = "vocab.json"
EOS, UNK = "</s>", "<unk>"
HOI_PROMPTS = ("pnr", "oscc", "action_verb", "action_noun", "lta_verb", "lta_noun")
#: The official renames of colliding v1 nouns (index → token), applied only when the names at these indices are
#: the colliding v1 ones.
V1_NOUN_RENAMES = {
    19: ("bat", "bat_sports"),
    20: ("bat", "bat_tool"),
    84: ("chip", "chip_food"),
    85: ("chip", "chip_wood'"),
    86: ("chip", "chip_wood"),
    270: ("nut", "nut_food"),
    271: ("nut", "nut_tool"),
    320: ("pot", "pot_planter"),
}


def clean_label_name(name: str) -> str:
    """Taxonomy name → token word: the text before ``(`` with underscores removed (``"cut_(chop,_slice)"`` →
    ``"cut"``)."""
    return name.split("(")[0].replace("_", "")


def hoi_label_words(verbs: Sequence[str], nouns: Sequence[str]) -> tuple[list[str], list[str]]:
    """Cleaned verb and noun words, with the official renames of the colliding v1 nouns.

    Raises:
        ValueError: two classes of one task clean to the same word (decoding would be ambiguous).
    """
    verb_words = [clean_label_name(v) for v in verbs]
    noun_words = [clean_label_name(n) for n in nouns]
    if all(i < len(noun_words) and noun_words[i] == old for i, (old, _) in V1_NOUN_RENAMES.items()):
        for index, (_, new) in V1_NOUN_RENAMES.items():
            noun_words[index] = new
    for kind, words in (("verb", verb_words), ("noun", noun_words)):
        seen: dict[str, int] = {}
        for index, word in enumerate(words):
            if word in seen:
                raise ValueError(f"{kind}s {seen[word]} and {index} both clean to {word!r}: the tokenizer could not tell them apart.")
            seen[word] = index
    return verb_words, noun_words


class EgoT2Tokenizer:
    """Label ↔ token mapping of an EgoT2-g translator.

    Args:
        tokens: the vocabulary, index order (unique strings).
        prompts: ``{task: prompt token}``.
        labels: ``{task: [token of class 0, class 1, …]}``.
        eos_token, unk_token: special tokens.
    """

    def __init__(
        self,
        tokens: Sequence[str],
        prompts: Mapping[str, str],
        labels: Mapping[str, Sequence[str]],
        eos_token: str = EOS,
        unk_token: str = UNK,
    ) -> None:
        self.tokens = list(tokens)
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("EgoT2Tokenizer: vocabulary tokens must be unique strings.")
        self.token_to_id = {token: index for index, token in enumerate(self.tokens)}
        self.prompts = dict(prompts)
        self.labels = {task: list(words) for task, words in labels.items()}
        self.eos_token, self.unk_token = eos_token, unk_token
        for token in [eos_token, unk_token, *self.prompts.values(), *(w for ws in self.labels.values() for w in ws)]:
            if token not in self.token_to_id:
                raise ValueError(f"EgoT2Tokenizer: token {token!r} is not in the vocabulary.")
        for task, words in self.labels.items():
            if len(set(words)) != len(words):
                raise ValueError(f"EgoT2Tokenizer: two classes of task {task!r} share a token.")
        self._class_of = {task: {self.token_to_id[w]: i for i, w in enumerate(words)} for task, words in self.labels.items()}

    # ----- official vocabularies ---------------------------------------------------------------------------------
    @classmethod
    def hhi(cls) -> EgoT2Tokenizer:
        """HHI (LAM, TTM, ASD), V = 7."""
        tokens = [EOS, UNK, "ttm", "lam", "asd", "0", "1"]
        return cls(tokens, {t: t for t in ("lam", "ttm", "asd")}, {t: ["0", "1"] for t in ("lam", "ttm", "asd")})

    @classmethod
    def pnr_oscc(cls) -> EgoT2Tokenizer:
        """P&O (Table 5 "P & O"), V = 22."""
        tokens = ["pnr", "oscc", "True", "False", EOS, UNK, *map(str, range(16))]
        return cls(tokens, {"pnr": "pnr", "oscc": "oscc"}, {"pnr": [str(i) for i in range(16)], "oscc": ["False", "True"]})

    @classmethod
    def cross_cluster(cls) -> EgoT2Tokenizer:
        """Cross-cluster PNR, OSCC, LAM (Table 13), V = 23."""
        tokens = ["pnr", "oscc", "lam", "True", "False", EOS, UNK, *map(str, range(16))]
        labels = {"pnr": [str(i) for i in range(16)], "oscc": ["False", "True"], "lam": ["False", "True"]}
        return cls(tokens, {t: t for t in ("pnr", "oscc", "lam")}, labels)

    @classmethod
    def hoi(cls, verbs: Sequence[str], nouns: Sequence[str], dedupe_vocab: bool = True) -> EgoT2Tokenizer:
        """HOI (PNR, OSCC, AR verb/noun, LTA verb/noun) from the taxonomy's class names (module docstring)."""
        verb_words, noun_words = hoi_label_words(verbs, nouns)
        tokens = [*HOI_PROMPTS, "True", "False", EOS, UNK, *map(str, range(16))]
        present = set(tokens)
        verb_tokens, noun_tokens = [], []
        for word in verb_words:
            if word not in present:
                tokens.append(word)
                present.add(word)
            verb_tokens.append(word)
        for word in noun_words:
            token = word
            if word in present and not dedupe_vocab and word in verb_words:
                token = f"noun:{word}"
            if token not in present:
                tokens.append(token)
                present.add(token)
            noun_tokens.append(token)
        labels = {
            "pnr": [str(i) for i in range(16)],
            "oscc": ["False", "True"],
            "action_verb": verb_tokens,
            "action_noun": noun_tokens,
            "lta_verb": verb_tokens,
            "lta_noun": noun_tokens,
        }
        return cls(tokens, {t: t for t in HOI_PROMPTS}, labels)

    @classmethod
    def from_taxonomy(cls, taxonomy: str | os.PathLike | Mapping[str, Sequence[str]], dedupe_vocab: bool = True) -> EgoT2Tokenizer:
        """HOI tokenizer from ``fho_lta_taxonomy.json`` (``{"verbs": [...], "nouns": [...]}``) or its dict.

        ``dedupe_vocab=True`` (default) reproduces the official builder (V = 601: a word that is both a verb and a
        noun is one token); ``False`` keeps verb and noun tokens apart (V = 619)."""
        if not isinstance(taxonomy, Mapping):
            path = Path(taxonomy)
            try:
                taxonomy = json.loads(path.read_text())
            except FileNotFoundError:
                raise FileNotFoundError(f"{path}: no taxonomy file (Ego4D fho_lta_taxonomy.json)") from None
        missing = {"verbs", "nouns"} - set(taxonomy)
        if missing:
            raise ValueError(f"taxonomy lacks {sorted(missing)} (expected {{'verbs': [...], 'nouns': [...]}}).")
        return cls.hoi(taxonomy["verbs"], taxonomy["nouns"], dedupe_vocab=dedupe_vocab)

    # ----- encode / decode ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def eos_token_id(self) -> int:
        return self.token_to_id[self.eos_token]

    @property
    def unk_token_id(self) -> int:
        return self.token_to_id[self.unk_token]

    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.token_to_id.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> list[str]:
        return [self.tokens[int(i)] if 0 <= int(i) < len(self.tokens) else self.unk_token for i in ids]

    def _check_task(self, task: str) -> None:
        if task not in self.labels:
            raise KeyError(f"EgoT2Tokenizer has no task {task!r}; tasks: {sorted(self.labels)}.")

    def encode(self, task: str, label: int) -> list[int]:
        """``[prompt, label token, </s>]`` ids of class ``label`` of ``task``."""
        self._check_task(task)
        words = self.labels[task]
        if not 0 <= int(label) < len(words):
            raise ValueError(f"{task}: class {label} outside [0, {len(words)}).")
        return self.convert_tokens_to_ids([self.prompts[task], words[int(label)], self.eos_token])

    def decode(self, task: str, ids: Sequence[int]) -> int:
        """Class index of a decoded sequence (``[prompt,] label[, </s>]``); ``-1`` when the label token is not a class
        of ``task``."""
        self._check_task(task)
        ids = [int(i) for i in ids]
        if ids and ids[0] == self.token_to_id[self.prompts[task]]:
            ids = ids[1:]
        return self._class_of[task].get(ids[0], -1) if ids else -1

    def batch_encode(self, task: str, labels: torch.Tensor) -> torch.Tensor:
        """``(B,)`` class indices → ``(B, 3)`` id sequences."""
        return torch.tensor([self.encode(task, int(label)) for label in labels.reshape(-1)], dtype=torch.long)

    def label_words(self, task: str) -> list[str]:
        """The token word of every class of ``task`` (verbs/nouns as words)."""
        self._check_task(task)
        return [w.removeprefix("noun:") for w in self.labels[task]]

    def config_kwargs(self) -> dict[str, Any]:
        """The :class:`~mthub.models.egot2.EgoT2Config` fields this vocabulary determines."""
        return {
            "vocab_size": self.vocab_size,
            "eos_token_id": self.eos_token_id,
            "unk_token_id": self.unk_token_id,
            "prompt_token_ids": {task: self.token_to_id[token] for task, token in self.prompts.items()},
            "label_token_ids": {task: self.convert_tokens_to_ids(words) for task, words in self.labels.items()},
        }

    # ----- save / load -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"tokens": self.tokens, "prompts": self.prompts, "labels": self.labels, "eos_token": self.eos_token, "unk_token": self.unk_token}

    def save_pretrained(self, save_directory: str | os.PathLike) -> Path:
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / VOCAB_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> EgoT2Tokenizer:
        path = Path(directory) / VOCAB_FILE if Path(directory).is_dir() else Path(directory)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no EgoT2 vocabulary ({VOCAB_FILE}) here.")
        data = json.loads(path.read_text())
        return cls(data["tokens"], data["prompts"], data["labels"], data.get("eos_token", EOS), data.get("unk_token", UNK))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EgoT2Tokenizer) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"EgoT2Tokenizer(V={self.vocab_size}, tasks={sorted(self.labels)})"
