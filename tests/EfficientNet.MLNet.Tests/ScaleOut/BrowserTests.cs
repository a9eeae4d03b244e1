using EfficientNet.MLNet.Datasets;
using EfficientNet.MLNet.Tests.Cli;
using EfficientNet.MLNet.Tests.Pipeline;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace EfficientNet.MLNet.Tests.ScaleOut;

/// <summary>
/// Debian's chromium, headless, driven by Selenium: it opens the web service's page, uploads an image, and finds the
/// answer and the Grad-CAM overlay on the page. The screenshot is kept in TestResults/artifacts/webservice.
/// </summary>
[Collection(TrainingCollection.Name)]
public class BrowserTests
{
    const string Chromium = "/usr/bin/chromium", Driver = "/usr/bin/chromedriver";

    [Fact]
    public void A_browser_uploads_an_image_on_the_page_and_sees_the_answer_and_the_overlay()
    {
        Assert.SkipUnless(File.Exists(Chromium) && File.Exists(Driver),
            "Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver); .ci/run installs them when it runs as root");
        using var folder = new FixturePaths.TemporaryFolder();
        var (images, model) = QuickCliModel.Train(folder, imagesPerClass: 4, seed: 14);
        using var service = new ServiceProcess(model, maxUploadBytes: 1_000_000);
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,900");
        using var driverService = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        driverService.SuppressInitialDiagnosticInformation = true;
        using var browser = new ChromeDriver(driverService, options, TimeSpan.FromSeconds(60));

        browser.Navigate().GoToUrl(service.Address);
        browser.FindElement(By.Id("file")).SendKeys(images[0].ImagePath);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((browser.FindElements(By.CssSelector("li.prediction")).Count == 0
                || !(browser.FindElement(By.Id("overlay")).GetAttribute("src") ?? "").StartsWith("blob:", StringComparison.Ordinal))
               && DateTime.UtcNow < deadline)
            Thread.Sleep(100);
        var screenshot = Path.Combine(FixturePaths.Artifacts("webservice"), "page.png");
        ((ITakesScreenshot)browser).GetScreenshot().SaveAsFile(screenshot);

        var predictions = browser.FindElements(By.CssSelector("li.prediction")).Select(p => p.Text).ToList();
        var status = browser.FindElement(By.Id("status")).Text;
        Assert.Equal(3, predictions.Count);
        Assert.All(predictions, p => Assert.Contains(p.Split(' ')[0], SyntheticShapes.Classes));
        Assert.StartsWith($"{Path.GetFileName(images[0].ImagePath)}: ", status);
        Assert.StartsWith("blob:", browser.FindElement(By.Id("overlay")).GetAttribute("src"));
        Assert.True(new FileInfo(screenshot).Length > 1000, "the screenshot is empty");
    }
}
