"""opencv_read.py BUS OUT - reads 3 frames of BUS through cv2.VideoCapture(fbussrc ...,
cv2.CAP_GSTREAMER) and writes the last as raw BGR bytes to OUT (test_gst_pipelines checks it)."""
import sys

import cv2

bus, out = sys.argv[1], sys.argv[2]
cap = cv2.VideoCapture("fbussrc bus=%s ! videoconvert ! video/x-raw,format=BGR ! appsink" % bus,
                       cv2.CAP_GSTREAMER)
if not cap.isOpened():
    sys.exit("cv2.VideoCapture could not open the fbussrc pipeline")
frame = None
for _ in range(3):
    ok, frame = cap.read()
    if not ok:
        sys.exit("cv2.VideoCapture.read() failed")
cap.release()
print(frame.shape)
with open(out, "wb") as f:
    f.write(frame.tobytes())
