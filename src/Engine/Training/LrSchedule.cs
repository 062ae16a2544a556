namespace LayerChop.Engine.Training;

/// <summary>Linear warm-up to the peak rate, then cosine decay to a floor (the paper's pretraining schedule).</summary>
public sealed record LrSchedule(double Peak, int WarmupSteps, int TotalSteps, double FloorRatio = 0.1)
{
    /// <summary>The rate for the update with 0-based index <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return Peak * (step + 1) / WarmupSteps;
        double floor = Peak * FloorRatio;
        long decaySteps = Math.Max(1, TotalSteps - WarmupSteps);
        double progress = Math.Clamp((double)(step - WarmupSteps) / decaySteps, 0, 1);
        return floor + (Peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
