"""AnoGAN (Schlegl et al., IPMI 2017): a GAN of the normal class, then a latent search per test point.

The idea in two steps:

1. Train a GAN -- here a small DCGAN (Radford et al., 2015) for images, an MLP GAN for vectors -- on normal data
   only, so that the generator G maps latent codes z to normal-looking samples.
2. For each test point x, keep G and the discriminator D fixed and search the latent space by gradient descent for
   the z whose G(z) is closest to x (Schlegl et al., section 2.2), minimising

       L(z) = (1 - lam) * L_R(z) + lam * L_D(z),                                 (Schlegl et al., Eq. 5)
       L_R(z) = sum |x - G(z)|                   residual loss                    (Eq. 3)
       L_D(z) = sum |f(x) - f(G(z))|             discriminator ("feature matching") loss, f = D's last
                                                 hidden layer                     (Eq. 4 with feature matching)

   The anomaly score is that loss at the last search step, A(x) = (1 - lam) R(x) + lam D(x) (Eq. 6-7). A normal
   point has a good preimage under G, an anomaly does not.

Signs (DESIGN.md): ``score_samples`` = -A(x) (higher = more normal); ``offset_`` puts a fraction ``nu`` of (up to
``n_offset``) training points below 0, so ``decision_function`` < 0 flags anomalies, ``predict`` gives +1 / -1.

Settings from the papers: latent size 256 (the Deep SVDD paper, following Metz et al. 2017), lam = 0.1 and 500
search steps (Schlegl et al.), DCGAN's Adam (lr 2e-4, beta1 = 0.5) and batch size 64. The latent search runs on a
whole batch of test points at once: the loss is a sum over points, each z_i only enters its own term and G and D are
in eval mode, so each point's search is exactly its own (Adam acts element-wise). What differs from DCGAN: D has no
BatchNorm, so that its features f(x) at scoring time do not depend on running statistics mixed from real and fake
batches; the latent prior is N(0, I) (DCGAN used a uniform prior) and the search starts from a draw of that prior.
"""

from __future__ import annotations

import math
import time
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn
from tqdm.auto import tqdm

from . import estimators as _est
from .estimators import _COUNT0, _COUNT1, _DEVICE, _NU, _POS, _SEED, _NeuralDetector
from .objectives import ocnn_quantile_r
from .training import TrainingDiverged, batch_bounds
from .validation import check_int

__all__ = ["AnoGAN", "DCGANGenerator", "DCGANDiscriminator", "MLPGenerator", "MLPDiscriminator", "build_gan"]

_SCORE_BATCH = 1024


# ----------------------------------------------------------------------------------------------------------------
# networks
# ----------------------------------------------------------------------------------------------------------------
class DCGANGenerator(nn.Module):
    """DCGAN generator for (C, H, W) images: dense layer to a (4w, h0, w0) map, then three stride-2 transposed convs.

    The map starts at ceil(H/8) x ceil(W/8) and is cropped to H x W at the end (32 -> 32, 28 -> 32 -> 28). BatchNorm
    and ReLU inside, a linear output layer (the kit's images are min-max scaled to [0, 1] on the training normals,
    test images may leave that range, so the output is not squashed).
    """

    def __init__(self, in_shape, latent_dim=256, width=64):
        super().__init__()
        c, h, w = (int(v) for v in in_shape)
        self.in_shape, self.latent_dim = (c, h, w), int(latent_dim)
        self.h0, self.w0 = math.ceil(h / 8), math.ceil(w / 8)
        self.width = int(width)
        self.fc = nn.Sequential(nn.Linear(self.latent_dim, 4 * width * self.h0 * self.w0, bias=False),
                                nn.BatchNorm1d(4 * width * self.h0 * self.w0), nn.ReLU())

        def up(cin, cout):
            return [nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.convs = nn.Sequential(*up(4 * width, 2 * width), *up(2 * width, width),
                                   nn.ConvTranspose2d(width, c, 4, stride=2, padding=1))

    def forward(self, z):
        """Map (N, latent_dim) codes to (N, C, H, W) images."""
        x = self.convs(self.fc(z).view(len(z), 4 * self.width, self.h0, self.w0))
        c, h, w = self.in_shape
        dy, dx = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
        return x[:, :, dy:dy + h, dx:dx + w]


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: three stride-2 4x4 convs with leaky ReLU (slope 0.2), then a dense logit.

    ``features(x)`` is the flattened output of the last conv block: the f(.) of AnoGAN's discriminator loss.
    """

    def __init__(self, in_shape, width=64):
        super().__init__()
        c, h, w = (int(v) for v in in_shape)
        if min(h, w) < 8:
            raise ValueError(f"The DCGAN discriminator needs images of at least 8x8 pixels, got {in_shape}.")
        self.convs = nn.Sequential(
            nn.Conv2d(c, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
        )
        with torch.no_grad():
            n_feat = self.convs(torch.zeros(1, c, h, w)).numel()
        self.out = nn.Linear(n_feat, 1)

    def features(self, x):
        """f(x): the last hidden layer, flattened."""
        return self.convs(x).flatten(1)

    def forward(self, x):
        """The logit of 'x is real'."""
        return self.out(self.features(x)).squeeze(1)


class MLPGenerator(nn.Module):
    """Generator for vectors: two hidden layers with BatchNorm and ReLU, a linear output."""

    def __init__(self, in_dim, latent_dim=256, width=64):
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.net = nn.Sequential(nn.Linear(self.latent_dim, width, bias=False), nn.BatchNorm1d(width), nn.ReLU(),
                                 nn.Linear(width, 2 * width, bias=False), nn.BatchNorm1d(2 * width), nn.ReLU(),
                                 nn.Linear(2 * width, int(in_dim)))

    def forward(self, z):
        """Map (N, latent_dim) codes to (N, d) vectors."""
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """Discriminator for vectors: two hidden layers with leaky ReLU; ``features`` is the second one."""

    def __init__(self, in_dim, width=64):
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(int(in_dim), 2 * width), nn.LeakyReLU(0.2),
                                    nn.Linear(2 * width, width), nn.LeakyReLU(0.2))
        self.out = nn.Linear(width, 1)

    def features(self, x):
        """f(x): the last hidden layer."""
        return self.hidden(x)

    def forward(self, x):
        """The logit of 'x is real'."""
        return self.out(self.features(x)).squeeze(1)


def build_gan(in_shape, latent_dim=256, width=64):
    """(generator, discriminator) for samples of ``in_shape``: DCGAN for (C, H, W), MLP GAN for (d,)."""
    in_shape = tuple(int(s) for s in in_shape)
    if len(in_shape) == 3:
        return DCGANGenerator(in_shape, latent_dim, width), DCGANDiscriminator(in_shape, width)
    if len(in_shape) == 1:
        return MLPGenerator(in_shape[0], latent_dim, width), MLPDiscriminator(in_shape[0], width)
    raise ValueError(f"AnoGAN takes vectors (N, d) or images (N, C, H, W); got samples of shape {in_shape}.")


# ----------------------------------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------------------------------
class AnoGAN(_NeuralDetector):
    """AnoGAN anomaly detector (Schlegl et al., 2017), in the kit's sign conventions.

    Parameters
    ----------
    latent_dim : int, default 256
        Size of z (the Deep SVDD paper's setting).
    width : int, default 64
        Filters of the first conv layer (DCGAN: 64, then 128, 256) / hidden units of the MLP GAN.
    num_epochs : int, default 100
        GAN training epochs.
    lr : float, default 2e-4
        Adam learning rate of G and D (beta1 = 0.5, as DCGAN).
    batch_size : int, default 64
    lam : float in [0, 1], default 0.1
        Weight of the discriminator loss in the search loss and the score (Schlegl et al.'s lambda).
    n_iter : int, default 500
        Latent search steps per test point (Schlegl et al.'s Gamma).
    search_lr : float, default 0.01
        Adam learning rate of the latent search.
    nu : float in (0, 1], default 0.1
        Fraction of (up to ``n_offset``) training points put below the threshold ``offset_``.
    n_offset : int, default 256
        Training points searched to set ``offset_`` (the search is the expensive part).
    random_state, device, verbose
        Seed; torch device (None = automatic); 0 = silent, else progress bars.

    Attributes
    ----------
    generator_, discriminator_ : nn.Module
    offset_ : float
    history_ : list of dict
        Per epoch: ``d_loss``, ``g_loss`` and the mean probabilities D gives to real (``d_real``) and generated
        (``d_fake``) samples: a GAN that has converged on its data keeps both near 0.5.
    """

    def __init__(self, latent_dim=256, width=64, num_epochs=100, lr=2e-4, batch_size=64, lam=0.1, n_iter=500,
                 search_lr=0.01, nu=0.1, n_offset=256, random_state=0, device=None, verbose=1):
        self.latent_dim = latent_dim
        self.width = width
        self.num_epochs = num_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.lam = lam
        self.n_iter = n_iter
        self.search_lr = search_lr
        self.nu = nu
        self.n_offset = n_offset
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _fitted_attr = "generator_"

    _parameter_constraints = {
        "latent_dim": [_COUNT1],
        "width": [_COUNT1],
        "num_epochs": [_COUNT0],
        "lr": [_POS],
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # BatchNorm needs >= 2 samples per batch
        "lam": [Interval(Real, 0, 1, closed="both")],  # Schlegl et al. use 0.1
        "n_iter": [_COUNT0],
        "search_lr": [_POS],
        "nu": [_NU],
        "n_offset": [_COUNT1],
        "random_state": _SEED,
        "device": _DEVICE,
        "verbose": ["verbose"],
    }

    def _arch(self):
        return {"in_shape": list(self.input_shape_), "latent_dim": int(self.latent_dim), "width": int(self.width)}

    # -- fit (the base fit checks the settings and X, picks the device and forks the RNGs, then calls _fit) ------
    def _fit(self, Xt, generator, nu):
        """Train the GAN on ``Xt`` (normal data), then set ``offset_`` from latent searches on training points."""
        G, D = build_gan(self.input_shape_, self.latent_dim, self.width)
        self.generator_, self.discriminator_ = G.to(self.device_), D.to(self.device_)
        self.history_ = self._train_gan(Xt, generator)
        # offset_: the nu-quantile of the scores of (up to n_offset) training points.
        n = min(len(Xt), int(self.n_offset))
        pick = torch.randperm(len(Xt), generator=generator)[:n].sort().values.to(self.device_)
        train_scores = -self._anomaly_scores(Xt[pick])[0]
        self._check_finite_result(train_scores, "latent-search scores of training points")
        self.offset_ = float(ocnn_quantile_r(train_scores.cpu().numpy(), nu))

    def _train_gan(self, Xt, gen):
        """Non-saturating GAN training (Goodfellow et al., 2014) with DCGAN's Adam; return the history."""
        G, D, dev = self.generator_, self.discriminator_, self.device_
        opt_g = torch.optim.Adam(G.parameters(), lr=self.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=self.lr, betas=(0.5, 0.999))
        bce = nn.BCEWithLogitsLoss()
        n, history = len(Xt), []
        bar = tqdm(range(1, int(self.num_epochs) + 1), desc="AnoGAN (DCGAN)", disable=not self.verbose, leave=False)
        for epoch in bar:
            t0 = time.perf_counter()
            G.train()
            D.train()
            perm = torch.randperm(n, generator=gen).to(dev)
            sums = np.zeros(4)
            n_batches = 0
            for start, stop in batch_bounds(n, int(self.batch_size)):
                xb = Xt[perm[start:stop]]
                m = len(xb)
                ones, zeros = torch.ones(m, device=dev), torch.zeros(m, device=dev)
                z = torch.randn(m, int(self.latent_dim), generator=gen).to(dev)
                fake = G(z)
                # D step: real -> 1, fake -> 0
                d_real, d_fake = D(xb), D(fake.detach())
                d_loss = bce(d_real, ones) + bce(d_fake, zeros)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                # G step (non-saturating): make D call the fakes real
                g_loss = bce(D(fake), ones)
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                with torch.no_grad():
                    sums += [float(d_loss), float(g_loss), float(torch.sigmoid(d_real).mean()),
                             float(torch.sigmoid(d_fake).mean())]
                n_batches += 1
            s = sums / max(n_batches, 1)
            row = {"epoch": epoch, "d_loss": float(s[0]), "g_loss": float(s[1]), "d_real": float(s[2]), "d_fake": float(s[3]),
                   "seconds": time.perf_counter() - t0}
            if not all(math.isfinite(v) for v in s):
                bar.close()
                raise TrainingDiverged(f"AnoGAN diverged at epoch {epoch}: the GAN's training loss became NaN or "
                                       f"infinite. Lower the learning rate lr (now {self.lr:g}) and scale the inputs "
                                       "to [0, 1] (ocad_lab.data.preprocess).", epoch=epoch, loss=float(s[0]))
            history.append(row)
            if self.verbose:
                bar.set_postfix(d=f"{s[0]:.3g}", g=f"{s[1]:.3g}")
        bar.close()
        G.eval()
        D.eval()
        return history

    # -- the latent search -------------------------------------------------------------------------------------
    def _anomaly_scores(self, Xt):
        """A(x) per row of ``Xt`` (Schlegl et al., Eq. 6-7) and the latent codes found, both as tensors."""
        G, D = self.generator_.eval(), self.discriminator_.eval()
        for p in list(G.parameters()) + list(D.parameters()):
            p.requires_grad_(False)  # the generator (and D) stay fixed during the search
        lam = float(self.lam)
        gen = torch.Generator().manual_seed(int(self.random_state or 0) + 1)
        scores, codes = [], []
        bar = tqdm(total=len(Xt), desc="AnoGAN latent search", disable=not self.verbose, leave=False)
        try:
            for start in range(0, len(Xt), _SCORE_BATCH):
                xb = Xt[start:start + _SCORE_BATCH]
                with torch.no_grad():
                    f_x = D.features(xb)
                z = torch.randn(len(xb), int(self.latent_dim), generator=gen).to(self.device_).requires_grad_(True)
                opt = torch.optim.Adam([z], lr=float(self.search_lr))

                def loss_per_point():
                    g = G(z)
                    residual = (xb - g).abs().flatten(1).sum(1)  # Eq. (3)
                    disc = (f_x - D.features(g)).abs().sum(1)  # Eq. (4), feature matching
                    return (1.0 - lam) * residual + lam * disc  # Eq. (5)

                for _ in range(int(self.n_iter)):
                    loss = loss_per_point()
                    opt.zero_grad(set_to_none=True)
                    loss.sum().backward()  # a sum: each z_i gets exactly the gradient of its own loss
                    opt.step()
                with torch.no_grad():
                    scores.append(loss_per_point())  # Eq. (6)-(7) at the last z
                codes.append(z.detach())
                bar.update(len(xb))
        finally:
            bar.close()
            for p in list(G.parameters()) + list(D.parameters()):
                p.requires_grad_(True)
        return torch.cat(scores), torch.cat(codes)

    # -- scoring ---------------------------------------------------------------------------------------------
    def score_samples(self, X):
        """-A(x) = -((1 - lam) * residual + lam * discriminator loss) after the latent search (higher = more normal)."""
        scores, _ = self._anomaly_scores(self._prepare(X))
        return -scores.cpu().numpy().astype(np.float64)

    def transform(self, X):
        """The latent codes z found by the search, shape (N, latent_dim)."""
        return self._anomaly_scores(self._prepare(X))[1].cpu().numpy()

    def sample(self, n, random_state=0):
        """``n`` samples G(z), z ~ N(0, I), as a NumPy array (to see what the GAN learned)."""
        self._check_fitted()
        n = check_int("n", n, 1)
        z = torch.randn(n, int(self.latent_dim), generator=torch.Generator().manual_seed(int(random_state)))
        with torch.no_grad():
            return self.generator_.eval()(z.to(self.device_)).cpu().numpy()

    def reconstruct(self, X):
        """G(z*) for the latent codes z* the search finds: the GAN's closest normal-looking sample to each x."""
        Xt = self._prepare(X)
        z = self._anomaly_scores(Xt)[1]
        with torch.no_grad():
            return self.generator_.eval()(z).cpu().numpy()

    # -- persistence -----------------------------------------------------------------------------------------
    def _state(self):
        return {"arch": self._arch(), "G": self.generator_.state_dict(), "D": self.discriminator_.state_dict()}

    def _restore(self, state):
        arch = state["arch"]
        G, D = build_gan(tuple(arch["in_shape"]), arch["latent_dim"], arch["width"])
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        self.generator_, self.discriminator_ = G.to(self.device_).eval(), D.to(self.device_).eval()


# ``ocad_lab.estimators.load`` and ``AnoGAN.load`` find the class by its saved name.
_est._CLASSES.setdefault("AnoGAN", AnoGAN)
