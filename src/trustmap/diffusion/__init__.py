"""Small DDPMs on Fashion-MNIST built on Hugging Face diffusers (``UNet2DModel``, ``DDPMScheduler``,
``DDIMScheduler``, ``DPMSolverMultistepScheduler``): training, safe save/load, a cache, sampling, quality
metrics (classifier accuracy, a CNN-feature Fréchet distance that is *not* Inception FID, k-NN precision
and recall, RBF-MMD) and the OLSS learned scheduler (arXiv 2305.14677).

>>> from trustmap.diffusion import DDPMConfig, cached_ddpm, sample
>>> model = cached_ddpm(DDPMConfig(image_size=14, conditional=True))
>>> x = sample(model, n=10, steps=10, sampler="dpm++", labels=torch.arange(10))
"""

from trustmap.diffusion.cache import cache_root, cached_classifier, cached_ddpm, cached_text_ddpm
from trustmap.diffusion.config import DDPMConfig
from trustmap.diffusion.data import fm_images, to_model_range, to_pixels
from trustmap.diffusion.grid import save_grid
from trustmap.diffusion.io import load_ddpm, save_ddpm
from trustmap.diffusion.metrics import classifier_accuracy, features, frechet_distance, mmd_rbf, precision_recall
from trustmap.diffusion.model import DDPM
from trustmap.diffusion.olss import OLSSSchedule, fit_olss, olss_sample
from trustmap.diffusion.sample import SAMPLERS, TeacherPath, initial_noise, sample, teacher_path
from trustmap.diffusion.train import train_ddpm

__all__ = [
    "DDPM",
    "SAMPLERS",
    "DDPMConfig",
    "OLSSSchedule",
    "TeacherPath",
    "cache_root",
    "cached_classifier",
    "cached_ddpm",
    "cached_text_ddpm",
    "classifier_accuracy",
    "features",
    "fit_olss",
    "fm_images",
    "frechet_distance",
    "initial_noise",
    "load_ddpm",
    "mmd_rbf",
    "olss_sample",
    "precision_recall",
    "sample",
    "save_ddpm",
    "save_grid",
    "teacher_path",
    "to_model_range",
    "to_pixels",
    "train_ddpm",
]
