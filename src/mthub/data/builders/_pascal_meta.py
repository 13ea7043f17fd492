"""Class tables the PASCAL-Context multi-task loader needs (data, not code).

The official loaders read them from ``db_info/{nyu_classes,context_classes,pascal_part}.json`` shipped with the
repositories (``shared/specs/tif.md`` §5.2 C). mthub ships only what those files are used for:

* :data:`NORMALS_VALID_CONTEXT_CLASSES`: the PASCAL-Context (459-class ``LabelMap``) ids whose distilled surface
  normals are kept: every context class whose name is also an NYUD class (``unknown`` excluded), plus
  ``tvmonitor`` (the official "custom addition due to incompatibilities"). 170 ids, derived once from the two
  JSON files; other pixels' normals are zeroed and later ignored.
* :data:`HUMAN_PART_TO_LABEL`: PASCAL-Part person part names → the 6-part labels used by every multi-task
  paper (1 head, 2 torso, 3 upper arms, 4 lower arms + hands, 5 upper legs, 6 lower legs + feet; 0 background).
"""

from __future__ import annotations

__all__ = ["NORMALS_VALID_CONTEXT_CLASSES", "HUMAN_PART_TO_LABEL", "PERSON_CLASS_INDEX", "NUM_HUMAN_PARTS"]

#: (context class id, name) pairs whose normals are valid.
NORMALS_VALID_CONTEXT_CLASSES: tuple[tuple[int, str], ...] = (
    (3, "air conditioner"), (4, "antenna"), (6, "ashtray"), (9, "bag"), (10, "ball"), (11, "balloon"),
    (13, "barrel"), (15, "basket"), (17, "bathtub"), (18, "bed"), (22, "bench"), (23, "bicycle"), (29, "blackboard"),
    (30, "board"), (33, "book"), (34, "bottle"), (36, "bowl"), (37, "box"), (38, "bracelet"), (39, "brick"),
    (41, "broom"), (43, "bucket"), (46, "cabinet"), (49, "cake"), (50, "calculator"), (51, "calendar"),
    (53, "camera"), (55, "can"), (56, "candle"), (59, "car"), (61, "cart"), (62, "case"), (65, "cat"), (66, "cd"),
    (68, "ceiling"), (69, "cell phone"), (72, "chair"), (73, "chessboard"), (78, "clock"), (83, "coffee machine"),
    (84, "comb"), (85, "computer"), (87, "cone"), (88, "container"), (95, "corkscrew"), (96, "counter"),
    (101, "crate"), (104, "cup"), (105, "curtain"), (107, "cutting board"), (111, "dishwasher"), (113, "dog"),
    (115, "door"), (122, "drum"), (124, "duck"), (135, "envelope"), (141, "fan"), (142, "faucet"),
    (143, "fax machine"), (146, "fire extinguisher"), (150, "fish tank"), (154, "flag"), (157, "flashlight"),
    (158, "floor"), (159, "flower"), (165, "fork"), (172, "fruit"), (174, "furnace"), (181, "glass"), (183, "globe"),
    (184, "glove"), (191, "guitar"), (193, "hammer"), (195, "handle"), (197, "hanger"), (199, "hat"),
    (202, "heater"), (213, "ipod"), (215, "ironing board"), (216, "jar"), (219, "key"), (220, "keyboard"),
    (223, "knife"), (225, "ladder"), (228, "laptop"), (230, "lid"), (232, "light"), (233, "light bulb"),
    (238, "lock"), (239, "machine"), (242, "map"), (243, "mask"), (246, "mattress"), (250, "microphone"),
    (251, "microwave"), (252, "mirror"), (255, "money"), (260, "mouse"), (261, "mouse pad"), (263, "napkin"),
    (269, "oven"), (272, "pan"), (273, "paper"), (275, "paper cutter"), (281, "pen"), (283, "pencil"),
    (284, "person"), (285, "photo"), (286, "piano"), (287, "picture"), (288, "pig"), (290, "pillow"), (291, "pipe"),
    (292, "pitcher"), (293, "plant"), (295, "plate"), (304, "pool table"), (307, "pot"), (309, "printer"),
    (310, "projector"), (314, "radiator"), (315, "radio"), (319, "range hood"), (323, "remote control"),
    (329, "rope"), (330, "rug"), (331, "ruler"), (336, "scale"), (342, "sculpture"), (345, "sewing machine"),
    (349, "shelves"), (350, "shoe"), (351, "shopping cart"), (352, "shovel"), (355, "sign"), (357, "sink"),
    (368, "sofa"), (370, "spatula"), (371, "speaker"), (374, "spoon"), (379, "stapler"), (380, "stick"),
    (383, "stool"), (384, "stove"), (397, "table"), (401, "tape"), (403, "telephone"), (405, "tent"),
    (407, "toaster"), (408, "toilet"), (411, "toothbrush"), (412, "towel"), (413, "toy"), (414, "toy car"),
    (417, "trampoline"), (419, "tray"), (421, "tricycle"), (423, "trophy"), (427, "tvmonitor"), (429, "typewriter"),
    (430, "umbrella"), (432, "vacuum cleaner"), (440, "wall"), (441, "wallet"), (442, "wardrobe"),
    (443, "washing machine"), (444, "watch"), (446, "water dispenser"), (454, "window"), (457, "wire"),
)

#: ``class_ind`` of "person" in the PASCAL-Part ``anno`` structs (VOC class order, 1-based).
PERSON_CLASS_INDEX = 15

#: Number of human-part classes without background.
NUM_HUMAN_PARTS = 6

_HEAD = ("head", "hair", "leye", "reye", "lear", "rear", "lebrow", "rebrow", "nose", "mouth")
_GROUPS: dict[int, tuple[str, ...]] = {
    1: _HEAD,
    2: ("torso", "neck"),
    3: ("luarm", "ruarm"),
    4: ("llarm", "rlarm", "lhand", "rhand"),
    5: ("luleg", "ruleg"),
    6: ("llleg", "rlleg", "lfoot", "rfoot"),
}

#: PASCAL-Part person part name → label in 1..6.
HUMAN_PART_TO_LABEL: dict[str, int] = {name: label for label, names in _GROUPS.items() for name in names}
