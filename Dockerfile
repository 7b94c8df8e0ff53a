# DCGAN Studio in public mode, for any Docker host:
#   docker build -t dcgan-studio . && docker run -p 8501:8501 -v dcgan-data:/data dcgan-studio
# then open http://localhost:8501. Public mode (gan_core/limits.py) is on; `-e DCGAN_STUDIO_PUBLIC=0` turns it off.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DCGAN_STUDIO_PUBLIC=1 \
    DCGAN_STUDIO_HOME=/data \
    STREAMLIT_SERVER_PORT=8501 \
    STREAMLIT_SERVER_ADDRESS=0.0.0.0 \
    STREAMLIT_SERVER_MAX_UPLOAD_SIZE=50 \
    HF_HUB_DISABLE_TELEMETRY=1

WORKDIR /app
COPY requirements.txt .
# CPU-only torch first (about 200 MB instead of several GB of CUDA wheels); requirements.txt then finds it installed.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch torchvision \
 && pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 1000 studio && mkdir -p /data && chown studio /data
USER studio
VOLUME /data
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
# app.py holds the st.App `streamlit run` serves: its start-up hook imports torch and the engine before it answers
CMD ["streamlit", "run", "app.py"]
