"""Automatic landmark detection: view classification, landmark models (ONNX, onnxruntime), plausibility checks.

Training (:mod:`fusionwatch.detect.training`, :mod:`fusionwatch.detect.network`) needs torch and is imported lazily;
everything re-exported here runs with numpy, OpenCV and onnxruntime only.
"""

from fusionwatch.detect.inference import Detector, detect_landmarks, load_detector
from fusionwatch.detect.view import ViewResult, classify_view

__all__ = ["Detector", "detect_landmarks", "load_detector", "ViewResult", "classify_view"]
