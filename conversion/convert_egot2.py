"""Convert an official EgoT2 checkpoint (``facebookresearch/EgoT2`` Lightning ``.ckpt``) to an mthub model folder.

    PYTHONPATH=src python conversion/convert_egot2.py egot2_checkpoints/ttm/egot2s_3task_128_l1_dp0.5_*.ckpt out/egot2-s-ttm
    PYTHONPATH=src python conversion/convert_egot2.py ... --preset egot2-g-hoi --taxonomy fho_lta_taxonomy.json

The official class is recognised from the tensors (``--preset`` overrides). The folder gets the translator weights
(safetensors), ``config.json`` (referencing the converted TS models in ``ts_checkpoints``), the processor
(``vocab.json`` for EgoT2-g) and a model card. Converted weights are CC BY-NC-SA 4.0 (the official checkpoints'
licence). Logic: :mod:`mthub.conversion.egot2`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="official .ckpt file")
    parser.add_argument("output_dir", help="mthub model folder to write")
    parser.add_argument("--preset", default=None, help="mthub preset of the official class (default: detected)")
    parser.add_argument("--taxonomy", default=None, help="fho_lta_taxonomy.json (EgoT2-g HOI vocabulary; AR/LTA class names)")
    parser.add_argument("--no-dedupe-vocab", action="store_true", help="EgoT2-g HOI: keep verb and noun tokens apart (V=619)")
    parser.add_argument("--include-ts", action="store_true", help="also convert the frozen TS models the checkpoint embeds and "
                        "save them in the folder (default: translator only; TS weights from config.ts_checkpoints)")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID", help="also push the folder to this Hub repo")
    opts = parser.parse_args(argv)

    import mthub  # noqa: F401  (registers the families)
    from mthub.conversion.egot2 import convert_checkpoint, detect_preset, load_official_checkpoint
    from mthub.models.egot2 import EgoT2Processor, EgoT2Tokenizer

    preset = opts.preset or detect_preset(load_official_checkpoint(opts.checkpoint).translator)
    overrides: dict = {}
    tokenizer = None
    if opts.taxonomy:
        taxonomy = json.loads(Path(opts.taxonomy).read_text())
        overrides.update(verb_labels=taxonomy["verbs"], noun_labels=taxonomy["nouns"])
        if preset.startswith("egot2-g-hoi") and not preset.endswith("-po"):
            tokenizer = EgoT2Tokenizer.from_taxonomy(taxonomy, dedupe_vocab=not opts.no_dedupe_vocab)
            overrides.update(tokenizer.config_kwargs())
    model, official, result = convert_checkpoint(opts.checkpoint, preset, overrides, include_ts=opts.include_ts)
    output = Path(opts.output_dir)
    model.save_pretrained(output, include_ts_weights=opts.include_ts)
    for source, report in (result.ts_report or {}).items():
        print(f"TS {source}: {report['loaded']} tensors loaded; not embedded (left as initialised): {report['missing'][:6]}"
              f"{' …' if len(report['missing']) > 6 else ''}; unexpected: {report['unexpected'][:6]}")
    EgoT2Processor.from_config(model.config, tokenizer=tokenizer).save_pretrained(output)
    try:
        from mthub.hub.cards import model_card_for

        model_card_for(model).save(str(output / "README.md"))
    except Exception as error:  # a card is a convenience: never fail a conversion on it
        print(f"warning: no model card written ({error})", file=sys.stderr)
    where = "written" if opts.include_ts else "not written: see config.ts_checkpoints"
    print(f"{opts.checkpoint} → {output} (preset {preset}); dropped: {sorted(result.dropped)}; embedded TS models: "
          f"{sorted(official.ts_state_dicts)} ({where}); ignored: {official.ignored}")
    if opts.push_to_hub:
        model.push_to_hub(opts.push_to_hub)
    return output


if __name__ == "__main__":
    main()
