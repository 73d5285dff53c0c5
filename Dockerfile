FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol ./protocol
COPY emulator ./emulator
RUN pip install --no-cache-dir .
ENV COGNITO_EMULATOR_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 9229
CMD ["cognito-emulator", "serve", "--host", "0.0.0.0", "--port", "9229"]
