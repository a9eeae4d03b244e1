using EfficientNet.MLNet.Training;

namespace EfficientNet.MLNet.Tests.Training;

public class LearningRateScheduleTests
{
    [Fact]
    public void Warm_up_rises_linearly_then_cosine_falls_to_zero()
    {
        var schedule = new LearningRateSchedule(Peak: 0.1, WarmupSteps: 10, TotalSteps: 110, LearningRateDecay.Cosine);

        Assert.Equal(0.01, schedule.At(0), 12);
        Assert.Equal(0.05, schedule.At(4), 12);
        Assert.Equal(0.1, schedule.At(9), 12);
        Assert.Equal(0.1, schedule.At(10), 12);
        Assert.Equal(0.05, schedule.At(60), 12);   // half way through the decay
        Assert.Equal(0.0, schedule.At(110), 12);
        Assert.Equal(0.0, schedule.At(500), 12);
    }

    [Fact]
    public void Constant_decay_stays_at_the_peak_after_warm_up()
    {
        var schedule = new LearningRateSchedule(0.1, 0, 100, LearningRateDecay.Constant);

        Assert.All(new long[] { 0, 50, 99, 200 }, step => Assert.Equal(0.1, schedule.At(step)));
    }
}
