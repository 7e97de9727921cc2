"""Gi* (geo/hotspots.py) against Ord & Getis (1995) worked by hand, and esda."""

import math

import numpy as np
import pytest
import shapely

from geo import hotspots as hs

# A 3 x 3 lattice of cells with 9 incidents in the centre and none elsewhere:
#   n = 9, mean X = 1, S^2 = 81 / 9 - 1 = 8.
# Gi*_i = (sum_j w_ij x_j - X W_i) / (S sqrt((n S1_i - W_i^2) / (n - 1)))
LATTICE_IX = np.repeat([0, 1, 2], 3)
LATTICE_IY = np.tile([0, 1, 2], 3)
CENTRE_ONLY = np.where((LATTICE_IX == 1) & (LATTICE_IY == 1), 9.0, 0.0)
CORNER, EDGE, CENTRE = 0, 1, 4  # (0, 0), (0, 1), (1, 1)
S = math.sqrt(8)


def test_gi_star_queen_by_hand():
    z, p = hs.gi_star(CENTRE_ONLY, hs.lattice_weights(LATTICE_IX, LATTICE_IY))
    # corner: itself and 3 around it, the centre among them: W = S1 = 4, sum 9
    #   (9 - 4) / (S sqrt((36 - 16) / 8)) = 5 / sqrt(20) = sqrt(5) / 2
    assert z[CORNER] == pytest.approx(math.sqrt(5) / 2, abs=1e-12)
    # edge: 6 cells, the centre among them: (9 - 6) / (S sqrt((54 - 36) / 8))
    #   = 3 / (sqrt(8) * 1.5) = 1 / sqrt(2)
    assert z[EDGE] == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    # centre: its neighbourhood is the whole lattice (n S1 - W^2 = 81 - 81 = 0):
    # Gi* is undefined there, and says so
    assert math.isnan(z[CENTRE]) and math.isnan(p[CENTRE])
    # two-sided p of z = sqrt(5) / 2 = 1.118: 2 (1 - Phi(1.118)) = 0.2636
    assert p[CORNER] == pytest.approx(0.26355, abs=1e-4)


def test_gi_star_rook_by_hand():
    z, _ = hs.gi_star(CENTRE_ONLY, hs.lattice_weights(LATTICE_IX, LATTICE_IY,
                                                      rook=True))
    # corner: itself and 2 edge cells, none the centre: W = 3, sum 0
    #   (0 - 3) / (S sqrt((27 - 9) / 8)) = -3 / (sqrt(8) 1.5) = -1 / sqrt(2)
    assert z[CORNER] == pytest.approx(-1 / math.sqrt(2), abs=1e-12)
    # centre: itself and 4: W = 5, sum 9: (9 - 5) / (S sqrt((45 - 25) / 8))
    #   = 4 / sqrt(20)
    assert z[CENTRE] == pytest.approx(4 / math.sqrt(20), abs=1e-12)


def test_gi_star_chain_by_hand():
    # four units in a row, counts 0 0 1 5: X = 1.5, S^2 = 26 / 4 - 2.25 = 4.25
    w = hs.lattice_weights([0, 1, 2, 3], [0, 0, 0, 0])
    z, _ = hs.gi_star([0, 0, 1, 5], w)
    s = math.sqrt(4.25)
    # unit 1: {0, 1, 2}, W = 3, sum 1: (1 - 4.5) / (s sqrt((12 - 9) / 3))
    assert z[1] == pytest.approx(-3.5 / s, abs=1e-12)
    # unit 3: {2, 3}, W = 2, sum 6: (6 - 3) / (s sqrt((8 - 4) / 3))
    assert z[3] == pytest.approx(3 / (s * math.sqrt(4 / 3)), abs=1e-12)


def test_gi_star_constant_variable_is_undefined():
    z, p = hs.gi_star([2, 2, 2, 2], hs.lattice_weights([0, 1, 2, 3], [0] * 4))
    assert np.isnan(z).all() and np.isnan(p).all()
    assert hs.classify(z, p).tolist() == [0, 0, 0, 0]


def test_gi_star_refuses_bad_input():
    w = hs.lattice_weights([0, 1, 2], [0, 0, 0])
    with pytest.raises(ValueError, match="expected"):
        hs.gi_star([1, 2], w)
    with pytest.raises(ValueError, match="at least 3"):
        hs.gi_star([1, 2], hs.lattice_weights([0, 1], [0, 0]))
    with pytest.raises(ValueError, match="NaN"):
        hs.gi_star([1, float("nan"), 2], w)


@pytest.mark.parametrize(("z", "p", "expected"), [
    (2.6, 0.0093, 3),     # p < 0.01
    (2.0, 0.0455, 2),     # p < 0.05
    (1.7, 0.0891, 1),     # p < 0.10
    (1.6, 0.1096, 0),
    (-1.7, 0.0891, -1),
    (-2.0, 0.0455, -2),
    (-3.0, 0.0027, -3),
])
def test_classify_at_90_95_99(z, p, expected):
    assert hs.classify([z], [p]).tolist() == [expected]
    assert hs.CLASSES[expected][0].startswith(
        {1: "hot", 0: "not", -1: "cold"}[int(np.sign(expected))])


def test_lattice_weights_count_neighbours():
    queen = hs.lattice_weights(LATTICE_IX, LATTICE_IY)
    rook = hs.lattice_weights(LATTICE_IX, LATTICE_IY, rook=True)
    # a 3 x 3 lattice has 12 edge-sharing pairs and 8 diagonal ones, both ways
    assert rook.nnz == 24 and queen.nnz == 40
    assert queen[[CENTRE]].sum() == 8 and queen[[CORNER]].sum() == 3
    assert rook[[CENTRE]].sum() == 4 and rook[[CORNER]].sum() == 2
    assert (queen != queen.T).nnz == 0
    with pytest.raises(ValueError, match="twice"):
        hs.lattice_weights([0, 0], [1, 1])


def test_contiguity_weights_queen_and_rook():
    # a 2 x 2 block of unit squares, listed in an odd order, and one far away
    boxes = [shapely.box(1, 1, 2, 2), shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
             shapely.box(0, 1, 1, 2), shapely.box(5, 5, 6, 6)]
    queen = hs.contiguity_weights(boxes).toarray()
    rook = hs.contiguity_weights(boxes, rook=True).toarray()
    # (1,1)-(0,0) and (1,0)-(0,1) meet at a corner only: queen, not rook
    assert queen[0, 1] == 1 and rook[0, 1] == 0
    assert queen[2, 3] == 1 and rook[2, 3] == 0
    assert rook[0, 2] == rook[0, 3] == rook[1, 2] == rook[1, 3] == 1
    assert queen[:4, :4].sum() == 12 and rook.sum() == 8
    assert queen[4].sum() == 0 and np.diag(queen).sum() == 0


def test_distance_band():
    w = hs.distance_band_weights([0, 100, 250, 1000], [0, 0, 0, 0], 150).toarray()
    assert w.tolist() == [[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0]]


def test_same_z_as_esda_g_local_star():
    esda = pytest.importorskip("esda")
    from libpysal.weights import WSP

    rng = np.random.default_rng(7)
    ix, iy = np.divmod(np.arange(150), 15)
    keep = rng.random(150) > 0.1  # holes make the neighbour counts vary
    ix, iy = ix[keep], iy[keep]
    y = rng.poisson(2.0, len(ix)).astype(float)
    y[(ix > 10) & (iy < 4)] += 6  # a hot corner
    for rook in (False, True):
        w = hs.lattice_weights(ix, iy, rook=rook)
        ours, p = hs.gi_star(y, w)
        theirs = esda.G_Local(y, WSP(w).to_W(silence_warnings=True), transform="B",
                              star=True, permutations=0)
        np.testing.assert_allclose(ours, theirs.Zs, rtol=1e-10, atol=1e-12)
        # esda's p_norm is one-sided
        np.testing.assert_allclose(p, 2 * theirs.p_norm, rtol=1e-10, atol=1e-12)
    assert (hs.classify(ours, p)[(ix > 10) & (iy < 4)] > 0).all()
