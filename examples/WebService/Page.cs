namespace EfficientNet.MLNet.WebService;

/// <summary>The page at /: drop or choose an image, see the top classes and where the evidence is.</summary>
public static class Page
{
    /// <summary>The Content-Security-Policy sent with the page: its own inline script and style (by hash), images from itself and blobs, nothing else.</summary>
    public static string ContentSecurityPolicy { get; } =
        $"default-src 'none'; script-src '{Hash("script")}'; style-src '{Hash("style")}'; img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    // The CSP hash of the page's inline element of that name (its text between the tags, as the browser hashes it).
    static string Hash(string element)
    {
        var start = Html.IndexOf($"<{element}>", StringComparison.Ordinal) + element.Length + 2;
        var text = Html[start..Html.IndexOf($"</{element}>", start, StringComparison.Ordinal)];
        return "sha256-" + Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
    }

    public const string Html = """
        <!doctype html>
        <html lang="en">
        <head><meta charset="utf-8"><title>EfficientNet</title>
        <style>body{font-family:sans-serif;max-width:40em;margin:2em auto}#drop{border:2px dashed #888;padding:2em;text-align:center}
        img{width:16em;margin-top:1em}img:not([src]){display:none}li{font-family:monospace}</style></head>
        <body>
        <h1>EfficientNet</h1>
        <div id="drop">Drop an image here, or <input type="file" id="file" accept="image/*"></div>
        <p><input type="password" id="key" placeholder="API key, if the service has one" autocomplete="off"></p>
        <p id="status"></p>
        <ol id="predictions"></ol>
        <img id="overlay" alt="">
        <script>
        async function classify(file) {
          const status = document.getElementById('status');
          status.textContent = 'Scoring ' + file.name + '...';
          const form = new FormData(); form.append('image', file);
          const key = document.getElementById('key').value;
          const headers = key ? { 'X-API-Key': key } : {};
          const response = await fetch('/predict', { method: 'POST', body: form, headers });
          const answer = await response.json().catch(() => ({ error: 'The service answered ' + response.status + ' without a reason.' }));
          if (!response.ok) { status.textContent = answer.error; return; }
          // Labels come from the training folders' names: text, never markup.
          document.getElementById('predictions').replaceChildren(...answer.predictions.map(p => {
            const item = document.createElement('li');
            item.className = 'prediction';
            item.textContent = p.label + ' ' + (100 * p.probability).toFixed(1) + '%';
            return item;
          }));
          // A multi-label model decides a set of labels (possibly none); a multiclass one its most probable class.
          status.textContent = file.name + ': ' + (Array.isArray(answer.labels)
            ? (answer.labels.length ? answer.labels.join(', ') : 'no label over its threshold')
            : answer.predictions[0].label);
          const explained = await fetch('/explain', { method: 'POST', body: form, headers });
          if (explained.ok) document.getElementById('overlay').src = URL.createObjectURL(await explained.blob());
        }
        document.getElementById('file').addEventListener('change', e => classify(e.target.files[0]));
        const drop = document.getElementById('drop');
        drop.addEventListener('dragover', e => e.preventDefault());
        drop.addEventListener('drop', e => { e.preventDefault(); classify(e.dataTransfer.files[0]); });
        </script>
        </body>
        </html>
        """;
}
