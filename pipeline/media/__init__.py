"""Media domain: classify uploads, probe audio/video, encode HLS, make posters and image variants.

Works on local files only (the handlers download and upload); no AWS imports here, so every function can be
exercised with real ffmpeg and Pillow on files generated at test time.
"""
